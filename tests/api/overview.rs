//! The overviews the console starts from: every connection with its state and queues, and an
//! org's transactions counted by status.

use orgsync::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::testkit::client::Client;
use crate::testkit::fixtures::{account_op, server_org};
use crate::testkit::launch::TestApp;

async fn every_connection_with_its_queues(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    server
        .write_batch("contoso", vec![account_op("acc-1", "Contoso", 0)])
        .await;
    let setup = json!({"Entities": ["account"], "WriteOffline": true});
    app.connect("client", &url, setup.clone()).await;
    app.connect("other", &url, setup).await;
    app.sync("client", json!({})).await;
    for name in ["One", "Two"] {
        app.patch("/rest/v1/orgs/client/entities/account/records/acc-1")
            .json(&json!({"Attributes": {"name": name}}))
            .send()
            .await
            .expect(StatusCode::OK);
    }

    let all = app
        .get("/rest/v1/sync/connections")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let list = all["Connections"].as_array().unwrap();
    let orgs: Vec<&str> = list.iter().map(|c| c["Org"].as_str().unwrap()).collect();
    assert_eq!(orgs, ["client", "other"], "{all:#}");
    let client = &list[0];
    assert_eq!(
        (
            &client["State"],
            &client["Provider"],
            &client["Pending"],
            &client["Errors"]
        ),
        (&json!("Connected"), &json!("orgsync"), &json!(2), &json!(0)),
        "{all:#}"
    );
    assert!(client["LastSyncOn"].is_string() && client["LagSeconds"].is_i64());
    assert!(
        list[1]["LastSyncOn"].is_null(),
        "other never synced: {all:#}"
    );

    let counts = app
        .get("/rest/v1/sync/client/transactions/counts")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(
        counts,
        json!({"All": 2, "Pending": 2, "Processed": 0, "Error": 0, "Archived": 0})
    );

    // An org's admin sees their own org only.
    let token = app.token(Role::OrgAdmin, "client").await;
    let admin = Client::new(app.base(), &token);
    let own = admin
        .get("/rest/v1/sync/connections")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(own["Connections"].as_array().unwrap().len(), 1, "{own:#}");
    assert_eq!(own["Connections"][0]["Org"], "client");
    admin
        .get("/rest/v1/sync/other/transactions/counts")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
}

both_backends!(every_connection_with_its_queues);
