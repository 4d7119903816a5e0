//! The served contract says what the service enforces: bounds, required bodies, the
//! statuses an endpoint answers and the methods a path allows.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::testkit::fixtures::server_org;
use crate::testkit::launch::TestApp;

/// The contract as the service serves it.
async fn served_contract(app: &TestApp) -> Value {
    app.get("/api-docs/openapi.json")
        .send()
        .await
        .expect(StatusCode::OK)
        .json()
}

/// A client org connected to a server of its own, with a job; gives the job's id.
async fn connected_client(app: &TestApp) -> (TestApp, String) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let id = app.connect_async("client", &url, json!({})).await;
    let job = app.wait_job(&id, &["Completed", "Failed"], 30).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    (server, id)
}

async fn every_limit_is_bounded_as_documented(app: TestApp) {
    let (_server, job) = connected_client(&app).await;
    let doc = served_contract(&app).await;
    let mut checked = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let params = get["parameters"].as_array().cloned().unwrap_or_default();
        let Some(limit) = params.iter().find(|p| p["name"] == "Limit") else {
            continue;
        };
        let schema = &limit["schema"];
        assert_eq!(schema["minimum"], 1, "{path}: {schema}");
        let max = schema["maximum"]
            .as_i64()
            .unwrap_or_else(|| panic!("{path}: Limit has no maximum: {schema}"));
        let concrete = path
            .replace("{org}", "client")
            .replace("{entity}", "account")
            .replace("{id}", &job);
        for bad in [0, max + 1] {
            let p = app
                .get(&format!("{concrete}?Limit={bad}"))
                .send()
                .await
                .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit");
            assert_eq!(p["field"], "Limit", "{path}: {p}");
        }
        app.get(&format!("{concrete}?Limit={max}"))
            .send()
            .await
            .expect(StatusCode::OK);
        app.get(&format!("{concrete}?Limit=1"))
            .send()
            .await
            .expect(StatusCode::OK);
        checked.push(path.clone());
    }
    assert!(checked.len() >= 6, "{checked:?}");

    // The change feed's Limit, in its request body.
    let schema = &doc["components"]["schemas"]["ChangesRequest"]["properties"]["Limit"];
    assert_eq!(
        (schema["minimum"].as_i64(), schema["maximum"].as_i64()),
        (Some(1), Some(10000)),
        "{schema}"
    );
    for bad in [0, 10001] {
        app.post("/rest/v1/orgs/client/changes")
            .json(&json!({"Limit": bad}))
            .send()
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit");
    }
    app.post("/rest/v1/orgs/client/changes")
        .json(&json!({"Limit": 10000}))
        .send()
        .await
        .expect(StatusCode::OK);
}

async fn bodies_are_documented_as_enforced(app: TestApp) {
    connected_client(&app).await;
    let doc = served_contract(&app).await;
    // Transaction ids: one at least.
    let ids = &doc["components"]["schemas"]["TxIds"]["properties"]["Ids"];
    assert_eq!(ids["minItems"], 1, "{ids}");
    assert_eq!(ids["maxItems"], 10000, "{ids}");
    for action in ["SetToPending", "SetToArchived"] {
        let p = app
            .post(&format!("/rest/v1/sync/client/transactions/{action}"))
            .json(&json!({"Ids": []}))
            .send()
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(p["field"], "Ids", "{p}");
    }
    // Signing in needs a body: without one it is 415, as documented.
    let token = &doc["paths"]["/rest/v1/auth/token"]["post"]["responses"];
    for status in ["401", "413", "415", "422", "429"] {
        assert!(token.get(status).is_some(), "{status} is not documented");
    }
    app.post("/rest/v1/auth/token")
        .send()
        .await
        .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // A sync needs none.
    let sync = &doc["paths"]["/rest/v1/sync/{org}/SyncAsync"]["post"]["requestBody"];
    assert!(sync.is_object(), "SyncAsync documents its body");
    assert_ne!(sync["required"], true, "{sync}");
    let accepted = app
        .post("/rest/v1/sync/client/SyncAsync")
        .send()
        .await
        .expect(StatusCode::ACCEPTED);
    assert!(accepted.header("location").is_some());
    let id = accepted.json()["JobId"].as_str().unwrap().to_owned();
    let job = app.wait_job(&id, &["Completed", "Failed"], 30).await;
    assert_eq!(job["Status"], "Completed", "{job}");
}

/// The methods an `Allow` header names.
fn allowed(header: &str) -> Vec<String> {
    let mut methods: Vec<String> = header.split(',').map(|m| m.trim().to_owned()).collect();
    methods.sort();
    methods
}

async fn options_names_the_methods_of_the_most_specific_route(app: TestApp) {
    connected_client(&app).await;
    let doc = served_contract(&app).await;
    let cases = [
        (
            "/rest/v1/sync/client/transactions/SetAllToPending",
            "/rest/v1/sync/{org}/transactions/SetAllToPending",
        ),
        (
            "/rest/v1/sync/client/transactions/SetToPending",
            "/rest/v1/sync/{org}/transactions/SetToPending",
        ),
        (
            "/rest/v1/sync/client/transactions/some-id",
            "/rest/v1/sync/{org}/transactions/{id}",
        ),
        ("/rest/v1/orgs", "/rest/v1/orgs"),
    ];
    for (concrete, template) in cases {
        let res = app.req(Method::OPTIONS, concrete).send().await;
        assert_eq!(
            res.status,
            StatusCode::NO_CONTENT,
            "{concrete}: {}",
            res.text()
        );
        let allow = res.header("allow").unwrap_or_default();
        let mut expected: Vec<String> = doc["paths"][template]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
            .map(|k| k.to_uppercase())
            .collect();
        expected.push("OPTIONS".to_owned());
        expected.sort();
        assert_eq!(allowed(&allow), expected, "{concrete}");
    }
    let res = app
        .req(
            Method::OPTIONS,
            "/rest/v1/sync/client/transactions/SetAllToPending",
        )
        .send()
        .await;
    let allow = allowed(&res.header("allow").unwrap());
    assert!(allow.contains(&"POST".to_owned()), "{allow:?}");
    assert!(!allow.contains(&"GET".to_owned()), "{allow:?}");
    // Another method than the route's is 405, naming the same methods.
    let res = app
        .req(
            Method::DELETE,
            "/rest/v1/sync/client/transactions/SetAllToPending",
        )
        .send()
        .await;
    assert_eq!(
        res.header("allow").as_deref(),
        Some("POST"),
        "{}",
        res.text()
    );
    res.problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    app.req(Method::OPTIONS, "/rest/v1/nowhere")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "route_not_found");
}

both_backends!(
    every_limit_is_bounded_as_documented,
    bodies_are_documented_as_enforced,
    options_names_the_methods_of_the_most_specific_route
);
