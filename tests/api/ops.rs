use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::testkit::launch::TestApp;

async fn health_readiness_and_metrics(app: TestApp) {
    let health = app
        .get("/healthz")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(health, json!({"Status": "ok"}));
    let ready = app
        .get("/readyz")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(ready.contains("<Status>ready</Status>"), "{ready}");
    app.crm_org("contoso").await;
    let metrics = app.get("/metrics").send().await.expect(StatusCode::OK);
    assert!(metrics.content_type().starts_with("text/plain"));
    let text = metrics.text();
    assert!(
        text.contains(
            "orgsync_http_requests_total{method=\"POST\",route=\"/rest/v1/orgs\",status=\"201\"}"
        ),
        "{text}"
    );
    assert!(text.contains("orgsync_http_request_duration_seconds_bucket"));
    assert!(text.contains("orgsync_jobs{status=\"Queued\"} 0"), "{text}");
    assert!(
        text.contains("orgsync_transactions{status=\"Pending\"} 0"),
        "{text}"
    );
}

async fn swagger_ui_and_the_openapi_document_are_served(app: TestApp) {
    let ui = app
        .get("/swagger-ui/")
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(ui.to_lowercase().contains("swagger"), "{ui}");
    // Where a person types the address without the rest: the same page.
    for path in ["/", "/swagger-ui"] {
        let page = app.get(path).send().await.expect(StatusCode::OK).text();
        assert!(page.to_lowercase().contains("swagger"), "{path}: {page}");
    }
    let doc = app
        .get("/api-docs/openapi.json")
        .send()
        .await
        .expect(StatusCode::OK);
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap();
    let served: serde_json::Value = doc.json();
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert!(
        served == committed,
        "the served contract is not the committed one"
    );
}

both_backends!(
    health_readiness_and_metrics,
    swagger_ui_and_the_openapi_document_are_served
);

/// The committed contract is exactly what the code generates. To accept a deliberate change,
/// regenerate it: `cargo run -- openapi > openapi/openapi.json`.
#[test]
fn the_committed_openapi_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = orgsync::api::openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date; run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn every_operation_documents_its_tag_security_and_errors() {
    let doc = serde_json::to_value(orgsync::api::openapi()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut count = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            count += 1;
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{method} {path} has no tag"
            );
            if path.starts_with("/rest/v1/") && path != "/rest/v1/auth/token" {
                assert!(
                    op["security"].to_string().contains("bearer"),
                    "{method} {path} has no bearer security"
                );
                assert!(
                    op["responses"].get("401").is_some(),
                    "{method} {path} documents no 401"
                );
            }
            let errors = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| k.starts_with('4') || k.starts_with('5'))
                .count();
            if path != "/healthz" {
                assert!(errors > 0, "{method} {path} documents no error response");
            }
        }
    }
    assert!(count >= 20, "{count} operations");
}

/// `orgsync serve --help` lists every option with its environment variable.
#[test]
fn serve_help_lists_the_options_and_their_variables() {
    let out = Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "--database-url <URL>",
        "[env: ORGSYNC_DATABASE_URL",
        "--bind <HOST:PORT>",
        "[env: ORGSYNC_BIND",
        "--sync-batch <N>",
        "--backend-deny <LIST>",
        "[env: ORGSYNC_SIGNIN_PER_ADDRESS",
    ] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
}

/// A flag is what the service runs with, over the environment's value.
#[test]
fn serve_runs_with_the_flags_given() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::testkit::net::free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .arg("serve")
        .args(["--bind", &bind, "--workers", "0", "--data-dir"])
        .arg(dir.path().join("secrets"))
        .arg("--database-url")
        .arg(format!("sqlite://{}", dir.path().join("o.db").display()))
        .current_dir(dir.path())
        .env("ORGSYNC_BIND", "127.0.0.1:1")
        .env_remove("ORGSYNC_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .map(Result::unwrap)
        .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        first,
        format!("orgsync is up: http://{bind}/swagger-ui/ (admin console: http://{bind}/admin/)")
    );
    assert!(dir.path().join("secrets/jwt_secret").exists());
    assert!(dir.path().join("o.db").exists());
}
