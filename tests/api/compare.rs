//! Compare: the drift between a client and its server found by digests (what differs, and
//! nothing else), repaired record by record, and at a cost that follows the differences.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::client::Client;
use crate::testkit::fixtures::{account_op, delete, server_org};
use crate::testkit::launch::TestApp;
use crate::testkit::net::Proxy;

const CLIENT_RECORDS: &str = "/rest/v1/orgs/client/entities/account/records";

/// Runs a Compare of the client org `org` and waits for it to end.
pub async fn compare_in(app: &Client, org: &str, request: Value) -> Value {
    let res = app
        .post(&format!("/rest/v1/sync/{org}/CompareAsync"))
        .json(&request)
        .send()
        .await
        .expect(StatusCode::ACCEPTED);
    let id = res.json()["JobId"].as_str().unwrap().to_owned();
    app.wait_job(
        &id,
        &["Completed", "CompletedWithErrors", "Failed", "Held"],
        120,
    )
    .await
}

async fn compare(app: &Client, request: Value) -> Value {
    compare_in(app, "client", request).await
}

/// A client write made offline, then set aside (Archived): the client record differs from the
/// server's and nothing will deliver it.
async fn drift_on_client(app: &Client, id: &str, name: &str, create: bool) {
    let made = if create {
        app.post(CLIENT_RECORDS)
            .json(&json!({"Id": id, "Attributes": {"name": name}}))
            .send()
            .await
            .expect(StatusCode::CREATED)
            .json()
    } else {
        app.patch(&format!("{CLIENT_RECORDS}/{id}"))
            .json(&json!({"Attributes": {"name": name}}))
            .send()
            .await
            .expect(StatusCode::OK)
            .json()
    };
    let tx = made["Transaction"]["TransactionId"].as_str().unwrap();
    app.post("/rest/v1/sync/client/transactions/SetToArchived")
        .json(&json!({"Ids": [tx]}))
        .send()
        .await
        .expect(StatusCode::OK);
}

/// What a Compare found of an entity, with every count (0 when absent).
pub fn counts(summary: &Value) -> Value {
    let keys = [
        "Server",
        "Client",
        "Missing",
        "Extra",
        "Stale",
        "LocalOnly",
        "Pending",
    ];
    keys.iter()
        .map(|k| {
            (
                (*k).to_owned(),
                summary.get(*k).cloned().unwrap_or(json!(0)),
            )
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// 1000 records synced, then drift of every kind planted on both sides: Compare names exactly
/// those records; Repair syncs exactly the missing, extra and stale ones; a second Compare
/// finds none of them (what is local-only or pending stays as it is).
async fn compare_finds_the_planted_drift_and_repair_removes_it(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let ops = (0..1000)
        .map(|i| account_op(&format!("acc-{i:05}"), &format!("Account {i}"), i % 2))
        .collect();
    server.write_batch("contoso", ops).await;
    app.connect(
        "client",
        &url,
        json!({"Entities": ["account"], "WriteOffline": true}),
    )
    .await;
    app.sync("client", json!({})).await;

    let before = compare(&app, json!({})).await;
    assert_eq!(before["Status"], "Completed", "{before:#}");
    assert_eq!(
        counts(&before["Summary"]["account"]),
        json!({"Server": 1000, "Client": 1000, "Missing": 0, "Extra": 0, "Stale": 0,
               "LocalOnly": 0, "Pending": 0}),
        "in step: {before:#}"
    );

    // Server side: 3 new (missing on the client), 3 deleted (extra), 2 changed (stale).
    let mut ops: Vec<Value> = ["acc-01000", "acc-01001", "acc-01002"]
        .iter()
        .map(|id| account_op(id, "New on the server", 0))
        .collect();
    for id in ["acc-00010", "acc-00020", "acc-00030"] {
        ops.push(delete("account", id));
    }
    ops.push(account_op("acc-00100", "Renamed on the server", 0));
    ops.push(account_op("acc-00200", "Renamed on the server", 0));
    server.write_batch("contoso", ops).await;
    // Client side: 2 changed and set aside (stale), 1 created and set aside (local-only), 1
    // changed and waiting for upload (pending).
    drift_on_client(&app, "acc-00300", "Drifted", false).await;
    drift_on_client(&app, "acc-00400", "Drifted", false).await;
    drift_on_client(&app, "local-1", "Only here", true).await;
    app.patch(&format!("{CLIENT_RECORDS}/acc-00500"))
        .json(&json!({"Attributes": {"name": "On its way"}}))
        .send()
        .await
        .expect(StatusCode::OK);

    let found = compare(&app, json!({"Entities": ["account"]})).await;
    assert_eq!(found["Status"], "Completed", "{found:#}");
    let account = &found["Summary"]["account"];
    assert_eq!(
        counts(account),
        json!({"Server": 1000, "Client": 1001, "Missing": 3, "Extra": 3, "Stale": 4,
               "LocalOnly": 1, "Pending": 1}),
        "{found:#}"
    );
    assert_eq!(
        account["FirstIds"],
        json!({
            "Missing": ["acc-01000", "acc-01001", "acc-01002"],
            "Extra": ["acc-00010", "acc-00020", "acc-00030"],
            "Stale": ["acc-00100", "acc-00200", "acc-00300", "acc-00400"],
            "LocalOnly": ["local-1"],
            "Pending": ["acc-00500"],
        })
    );
    // Compare moved nothing.
    let id = found["JobId"].as_str().unwrap();
    let log = app.job_log(id).await;
    let line = log
        .iter()
        .find(|l| l["RecordId"] == "acc-01000")
        .unwrap_or_else(|| panic!("{log:#?}"));
    assert_eq!(
        (&line["Action"], &line["Level"]),
        (&json!("Missing"), &json!("Warning"))
    );
    assert_eq!(app.usage_count("client").await, 1001);
    app.get(&format!("{CLIENT_RECORDS}/acc-00010"))
        .send()
        .await
        .expect(StatusCode::OK);

    let repaired = compare(&app, json!({"Repair": true})).await;
    assert_eq!(repaired["Status"], "Completed", "{repaired:#}");
    let account = &repaired["Summary"]["account"];
    assert_eq!(
        (
            &account["Created"],
            &account["Updated"],
            &account["Deleted"]
        ),
        (&json!(3), &json!(4), &json!(3)),
        "exactly the records that differ: {repaired:#}"
    );
    let name = |r: Value| r["Attributes"]["name"].clone();
    let got = |id: &str| app.get(&format!("{CLIENT_RECORDS}/{id}")).send();
    assert_eq!(
        name(got("acc-00300").await.expect(StatusCode::OK).json()),
        "Account 300"
    );
    assert_eq!(
        name(got("acc-00100").await.expect(StatusCode::OK).json()),
        "Renamed on the server"
    );
    got("acc-01001").await.expect(StatusCode::OK);
    got("acc-00020").await.expect(StatusCode::NOT_FOUND);
    // What waits for upload, and what only the client has, are left alone.
    assert_eq!(
        name(got("acc-00500").await.expect(StatusCode::OK).json()),
        "On its way"
    );
    got("local-1").await.expect(StatusCode::OK);
    // Deleted through the guard into the quarantine, where UndoDeletes can take them back.
    let rid = repaired["JobId"].as_str().unwrap();
    let quarantine = app
        .get(&format!("/rest/v1/jobs/{rid}/quarantine"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let mut held: Vec<&str> = quarantine["Items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["Action"] == "Deleted")
        .map(|i| i["Id"].as_str().unwrap())
        .collect();
    held.sort_unstable();
    assert_eq!(
        held,
        ["acc-00010", "acc-00020", "acc-00030"],
        "{quarantine:#}"
    );

    let after = compare(&app, json!({})).await;
    assert_eq!(
        counts(&after["Summary"]["account"]),
        json!({"Server": 1000, "Client": 1001, "Missing": 0, "Extra": 0, "Stale": 0,
               "LocalOnly": 1, "Pending": 1}),
        "{after:#}"
    );
}

/// The server holds 100k records and the client lacks or differs on 10: what the server sends
/// during the Compare (measured on the wire, through a proxy) is a small part of the data.
async fn compare_moves_digests_not_records(app: TestApp) {
    let server = TestApp::sqlite().await;
    server_org(&server).await;
    let proxy = Proxy::start(server.base());
    let n = 100_000;
    for start in (0..n).step_by(5000) {
        let ops = (start..start + 5000)
            .map(|i| account_op(&format!("acc-{i:06}"), &format!("Account {i}"), i % 2))
            .collect();
        server.write_batch("contoso", ops).await;
    }
    app.connect(
        "client",
        &proxy.org_url("contoso"),
        json!({"Entities": ["account"]}),
    )
    .await;
    let before = proxy.bytes_answered();
    app.sync("client", json!({})).await;
    let data = proxy.bytes_answered() - before;

    let mut ops: Vec<Value> = (0..3)
        .map(|i| account_op(&format!("new-{i}"), "New", 0))
        .collect();
    for i in [17, 50_017, 99_917] {
        ops.push(delete("account", &format!("acc-{i:06}")));
    }
    for i in [5, 25_005, 60_005, 99_995] {
        ops.push(account_op(&format!("acc-{i:06}"), "Changed", 0));
    }
    server.write_batch("contoso", ops).await;

    let before = proxy.bytes_answered();
    let found = compare(&app, json!({})).await;
    let sent = proxy.bytes_answered() - before;
    let account = &found["Summary"]["account"];
    assert_eq!(
        (&account["Missing"], &account["Extra"], &account["Stale"]),
        (&json!(3), &json!(3), &json!(4)),
        "{found:#}"
    );
    assert!(
        sent * 20 < data,
        "the server sent {sent} bytes for the Compare, {data} for the data: not under 5 %"
    );
}

/// A digest request that no answer can be made of is a 422 naming Ranges.
async fn digest_requests_are_checked(app: TestApp) {
    server_org(&app).await;
    let ask = |ranges: Value| {
        app.post("/rest/v1/orgs/contoso/digests")
            .json(&json!({"Entity": "account", "Ranges": ranges}))
            .send()
    };
    for ranges in [
        json!([]),
        json!([{"Size": 0}]),
        json!([{"Size": 9_223_372_036_854_775_808_u64}]),
        json!([{"From": "b", "To": "a"}]),
    ] {
        let problem = ask(ranges.clone())
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
        assert_eq!(problem["field"], "Ranges", "{ranges}: {problem}");
    }
    // A range is an object, not an array of its members.
    ask(json!([[null, null]]))
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let fine = ask(json!([{"Size": 1_000_000_000}]))
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(fine["Ranges"][0]["Pieces"][0]["Count"], 0, "{fine}");
}

both_backends!(
    compare_finds_the_planted_drift_and_repair_removes_it,
    compare_moves_digests_not_records,
    digest_requests_are_checked
);
