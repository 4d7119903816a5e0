//! Every kind of bad input gets its 4xx problem, in the format asked for, and changes nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::launch::TestApp;

/// What a client could see of the org: its change version and its records.
async fn snapshot(app: &TestApp, org: &str) -> (Value, Value) {
    let o = app
        .get(&format!("/rest/v1/orgs/{org}"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let r = app
        .get(&format!("/rest/v1/orgs/{org}/entities/account/records"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    (o["Version"].clone(), r)
}

async fn malformed_and_hostile_bodies_are_refused(app: TestApp) {
    let org = app.crm_org("contoso").await;
    app.create_record(&org, "account", json!({"name": "Existing"}))
        .await;
    let before = snapshot(&app, &org).await;
    let path = format!("/rest/v1/orgs/{org}/entities/account/records");
    let batch = format!("/rest/v1/orgs/{org}/batch");
    let deep = format!("{}{}", "<a>".repeat(5000), "</a>".repeat(5000));
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><Record><Attributes><name>&lol2;</name></Attributes></Record>"#;
    let external = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Record><Attributes><name>&x;</name></Attributes></Record>"#;
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        (&path, "application/json", b"{\"Attributes\": {\"name\": ".to_vec(), StatusCode::BAD_REQUEST, "malformed_body"),
        (&path, "application/json", b"not json".to_vec(), StatusCode::BAD_REQUEST, "malformed_body"),
        (&path, "application/json", br#"{"Attributes": {"name": "x"}, "Sneaky": 1}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (&path, "application/json", br#"{"Attributes": ["x"]}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (&path, "application/xml", b"<Record><Attributes><name>x</name></Attributes>".to_vec(), StatusCode::BAD_REQUEST, "malformed_xml"),
        (&path, "application/xml", b"<Record><Sneaky/></Record>".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (&path, "application/xml", laughs.as_bytes().to_vec(), StatusCode::BAD_REQUEST, "xml_doctype_forbidden"),
        (&path, "application/xml", external.as_bytes().to_vec(), StatusCode::BAD_REQUEST, "xml_doctype_forbidden"),
        (&path, "application/xml", b"<Record><Attributes><name>&custom;</name></Attributes></Record>".to_vec(), StatusCode::BAD_REQUEST, "xml_entity_forbidden"),
        (&path, "application/xml", deep.into_bytes(), StatusCode::BAD_REQUEST, "xml_too_deep"),
        (&path, "text/plain", b"name=x".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (&path, "application/x-www-form-urlencoded", b"name=x".to_vec(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        (&batch, "application/json", br#"{"Operations": [{"Op": "Replace", "Entity": "account", "Id": "a"}]}"#.to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (&batch, "application/json", br#"{"Operations": [{"Op": "Delete", "Entity": "account", "Id": "a", "Attributes": {}}]}"#.to_vec(), StatusCode::OK, ""),
    ];
    for (target, content_type, body, status, code) in cases {
        let res = app.post(target).raw(content_type, body).send().await;
        if status == StatusCode::OK {
            // A per-operation error inside a batch is still a 200 with the error in its result.
            assert_eq!(
                res.expect(StatusCode::OK).json()["Results"][0]["Status"],
                422
            );
            continue;
        }
        let p = res.problem(status, code);
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{p}");
    }
    // A request without Content-Type but with a body.
    let res = app.post(&path).raw("", b"{}".to_vec()).send().await;
    assert_eq!(
        res.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        res.text()
    );
    assert_eq!(snapshot(&app, &org).await, before, "nothing changed");
}

async fn oversized_bodies_are_413(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let before = snapshot(&app, &org).await;
    let limit = app.state.settings.body_limit;
    let big = json!({"Attributes": {"name": "x", "description": "y".repeat(limit)}}).to_string();
    let p = app
        .post(&format!("/rest/v1/orgs/{org}/entities/account/records"))
        .raw("application/json", big)
        .send()
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    assert!(p["detail"].as_str().unwrap().contains(&limit.to_string()));
    assert_eq!(snapshot(&app, &org).await, before);
}

async fn framework_errors_are_problems_too(app: TestApp) {
    let p = app
        .get("/rest/v1/nowhere")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "route_not_found");
    assert_eq!(p["type"], "urn:orgsync:problem:route_not_found");
    let res = app
        .req(reqwest::Method::PATCH, "/rest/v1/orgs")
        .send()
        .await;
    assert_eq!(res.header("allow").as_deref(), Some("GET, POST"));
    res.problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    app.get("/rest/v1/orgs?Limit=abc")
        .send()
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_query");
    app.get("/rest/v1/orgs?Bogus=1")
        .send()
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_query");
    // XML problems when XML is asked for.
    let res = app.get("/rest/v1/orgs/nowhere").accept_xml().send().await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.content_type(), "application/problem+xml");
    let text = res.text();
    assert!(
        text.contains(r#"<problem xmlns="urn:ietf:rfc:7807">"#)
            && text.contains("<code>org_not_found</code>"),
        "{text}"
    );
    let res = app
        .post("/rest/v1/orgs")
        .xml("<CreateOrg><Name>")
        .accept_xml()
        .send()
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.text().contains("<code>malformed_xml</code>"),
        "{}",
        res.text()
    );
    let res = app
        .req(reqwest::Method::DELETE, "/healthz")
        .accept_xml()
        .send()
        .await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(res.text().contains("<code>method_not_allowed</code>"));
    // Bad names in paths are not found, never a server error.
    app.get("/rest/v1/orgs/UPPER/metadata")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
    let org = app.crm_org("contoso").await;
    app.get(&format!(
        "/rest/v1/orgs/{org}/entities/account/records/has%20space"
    ))
    .send()
    .await
    .problem(StatusCode::NOT_FOUND, "record_not_found");
    app.get(&format!("/rest/v1/orgs/{org}/entities/account/records/x"))
        .header("If-Match", "garbage")
        .send()
        .await
        .expect(StatusCode::NOT_FOUND);
    app.patch(&format!("/rest/v1/orgs/{org}/entities/account/records/x"))
        .header("If-Match", "garbage")
        .json(&json!({}))
        .send()
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_if_match");
}

both_backends!(
    malformed_and_hostile_bodies_are_refused,
    oversized_bodies_are_413,
    framework_errors_are_problems_too
);
