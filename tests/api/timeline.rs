//! A record's timeline: the events of its life in order, with their jobs and transactions.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::fixtures::{account_op, server_org};
use crate::testkit::launch::TestApp;

/// Where the first event after `from` that `wanted` accepts stands; panics with the timeline.
fn find(events: &[Value], from: usize, what: &str, wanted: impl Fn(&Value) -> bool) -> usize {
    events
        .iter()
        .enumerate()
        .skip(from)
        .find(|(_, e)| wanted(e))
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no {what} after event {from}: {events:#?}"))
}

/// Created on the server, updated on the client offline while the server changed it too, a
/// conflict resolved by hand, deleted on the server and restored with UndoDeletes: each event
/// in order, with its job, transaction and conflict.
async fn a_records_life_in_order(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    server
        .write_batch("contoso", vec![account_op("acc-1", "Contoso", 0)])
        .await;
    app.connect(
        "client",
        &url,
        json!({"WriteOffline": true, "ConflictPolicy": "Manual", "Entities": ["account"],
               "DeleteGuard": "Off"}),
    )
    .await;
    let first = app.sync("client", json!({})).await;
    let record = "/rest/v1/orgs/client/entities/account/records/acc-1";
    app.patch(record)
        .json(&json!({"Attributes": {"name": "Client name"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    server
        .patch("/rest/v1/orgs/contoso/entities/account/records/acc-1")
        .json(&json!({"Attributes": {"name": "Server name"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    let second = app.sync("client", json!({})).await;
    let conflicts = app
        .get("/rest/v1/sync/client/conflicts")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let conflict = conflicts["Conflicts"][0]["ConflictId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!(
        "/rest/v1/sync/client/conflicts/{conflict}/Resolve"
    ))
    .json(&json!({"Take": "Server"}))
    .send()
    .await
    .expect(StatusCode::OK);
    server
        .delete("/rest/v1/orgs/contoso/entities/account/records/acc-1")
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    let third = app.sync("client", json!({})).await;
    let third_id = third["JobId"].as_str().unwrap().to_owned();
    app.post(&format!("/rest/v1/jobs/{third_id}/UndoDeletes"))
        .json(&json!({}))
        .send()
        .await
        .expect(StatusCode::OK);

    let timeline = app
        .get("/rest/v1/sync/client/timeline/account/acc-1")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let events = timeline["Events"].as_array().unwrap();
    let job = |j: &Value, action: &'static str| {
        let id = j["JobId"].clone();
        move |e: &Value| e["Kind"] == "Job" && e["Action"] == action && e["JobId"] == id
    };
    let created = find(events, 0, "the server's create", job(&first, "Create"));
    let write = find(events, created, "the client's update", |e| {
        e["Kind"] == "ClientWrite" && e["Action"] == "Update"
    });
    let tx = events[write]["TransactionId"].clone();
    assert!(tx.is_string(), "{:#?}", events[write]);
    let clash = find(
        events,
        write,
        "the conflict in the sync",
        job(&second, "Conflict"),
    );
    let opened = find(events, write, "the conflict opened", |e| {
        e["Kind"] == "ConflictOpened"
            && e["ConflictId"] == conflict.as_str()
            && e["TransactionId"] == tx
    });
    let resolved = find(events, opened.max(clash), "the resolution", |e| {
        e["Kind"] == "ConflictResolved" && e["Resolution"] == "Server"
    });
    let deleted = find(events, resolved, "the delete", job(&third, "Delete"));
    let kept = find(events, resolved, "the quarantine", |e| {
        e["Kind"] == "Quarantined" && e["Action"] == "Deleted" && e["JobId"] == third_id.as_str()
    });
    find(events, deleted.max(kept), "the restore", |e| {
        e["Kind"] == "Restored" && e["JobId"] == third_id.as_str()
    });
    // Times never go backwards.
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = events
        .iter()
        .map(|e| chrono::DateTime::parse_from_rfc3339(e["At"].as_str().unwrap()).unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{events:#?}");
    // Another org's token sees none of it.
    app.get("/rest/v1/sync/nosuch/timeline/account/acc-1")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
}

both_backends!(a_records_life_in_order);
