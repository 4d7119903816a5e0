//! Client → server: transactions delivered exactly once, at once or offline, with conflicts.

use orgsync::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::digest::digest;
use crate::testkit::fixtures::{account_definition, account_op, server_org};
use crate::testkit::launch::TestApp;
use crate::testkit::net::{Proxy, ProxyMode};

async fn setup(app: &TestApp, server: &TestApp, url: &str, setup: Value) {
    server
        .write_batch(
            "contoso",
            (0..5)
                .map(|i| account_op(&format!("acc-{i:05}"), &format!("Account {i}"), 0))
                .collect(),
        )
        .await;
    app.connect("client", url, setup).await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
}

async fn server_version(server: &TestApp) -> i64 {
    server.get("/rest/v1/orgs/contoso").send().await.json()["Version"]
        .as_i64()
        .unwrap()
}

async fn transactions(app: &TestApp, query: &str) -> Vec<Value> {
    app.get(&format!("/rest/v1/sync/client/transactions{query}"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json()["Transactions"]
        .as_array()
        .unwrap()
        .clone()
}

const CLIENT_RECORDS: &str = "/rest/v1/orgs/client/entities/account/records";

async fn offline_writes_wait_for_the_sync_which_delivers_them(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    setup(&app, &server, &url, json!({"WriteOffline": true})).await;
    let made = app
        .post(CLIENT_RECORDS)
        .json(&json!({"Id": "c-1", "Attributes": {"name": "Made on the client"}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        made.header("transaction-status").as_deref(),
        Some("Pending")
    );
    assert_eq!(made.json()["Transaction"]["Status"], "Pending");
    app.patch(&format!("{CLIENT_RECORDS}/acc-00001"))
        .json(&json!({"Attributes": {"name": "Renamed on the client"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    let gone = app
        .delete(&format!("{CLIENT_RECORDS}/acc-00002"))
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(
        gone.header("transaction-status").as_deref(),
        Some("Pending")
    );
    app.write_batch("client", vec![account_op("c-2", "From a batch", 1)])
        .await;
    // The metrics show, per org, what waits and when it last synchronized.
    let metrics = app
        .get("/metrics")
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(
        metrics.contains("orgsync_org_pending_transactions{org=\"client\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("orgsync_connection_last_sync_timestamp_seconds{org=\"client\"} "),
        "{metrics}"
    );
    assert!(
        metrics.contains("orgsync_job_duration_seconds_count{kind=\"Sync\"} "),
        "{metrics}"
    );
    // Created and deleted before delivery: the server never hears of it.
    app.post(CLIENT_RECORDS)
        .json(&json!({"Id": "c-3", "Attributes": {"name": "Short-lived"}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    app.delete(&format!("{CLIENT_RECORDS}/c-3"))
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    let pending = transactions(&app, "?Status=Pending").await;
    assert_eq!(pending.len(), 6);
    assert_eq!(pending[1]["Operation"], "Update");
    assert_eq!(
        pending[1]["Attributes"],
        json!({"name": "Renamed on the client"})
    );
    assert!(pending[1]["BaseVersion"].as_i64().unwrap() > 0);
    let xml = app
        .get("/rest/v1/sync/client/transactions?Status=Pending&Limit=1")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(
        xml.contains("<Transactions><Transaction><TransactionId>") && xml.contains("<Next>"),
        "{xml}"
    );
    assert_eq!(
        server
            .get("/rest/v1/orgs/contoso/entities/account/records/c-1")
            .send()
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    let before = server_version(&server).await;
    let held = app.sync("client", json!({})).await;
    // One delete of the few records the server holds is more than the default guard's 10 %:
    // the job sends the rest and holds the delete until approved.
    assert_eq!(held["Status"], "Held", "{held}");
    assert_eq!(held["Error"]["Code"], "delete_guard", "{held}");
    assert_eq!(held["Summary"]["account"]["PlannedDeletes"], 1, "{held}");
    assert_eq!(
        server
            .get("/rest/v1/orgs/contoso/entities/account/records/acc-00002")
            .send()
            .await
            .status,
        StatusCode::OK
    );
    let job = app.approve(&held).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(job["Summary"]["account"]["Uploaded"], 4);
    assert!(
        job["Summary"]["account"].get("PlannedDeletes").is_none(),
        "{job}"
    );
    assert_eq!(
        server_version(&server).await,
        before + 4,
        "four operations reached the server, each once"
    );
    assert_eq!(
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
    assert_eq!(
        server
            .get("/rest/v1/orgs/contoso/entities/account/records/c-3")
            .send()
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let all = transactions(&app, "").await;
    assert!(all.iter().all(|t| t["Status"] == "Processed"), "{all:?}");
    assert_eq!(
        all.iter()
            .filter(|t| t["Resolution"] == "Collapsed")
            .count(),
        2
    );
    // What the sync wrote does not come back as new transactions (no echo).
    app.sync("client", json!({})).await;
    assert_eq!(transactions(&app, "").await.len(), 6);
    let one = app
        .get(&format!(
            "/rest/v1/sync/client/transactions/{}",
            all[0]["TransactionId"].as_str().unwrap()
        ))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(one["Status"], "Processed");
    // Delivered transactions go after the job retention.
    {
        use diesel::prelude::*;
        use orgsync::db::schema::transactions;
        let mut conn = app.state.db.get().unwrap();
        let old = orgsync::db::now_micros() - 40 * 86_400_000_000;
        diesel::update(transactions::table)
            .set(transactions::created_on.eq(old))
            .execute(&mut *conn)
            .unwrap();
    }
    orgsync::purge_jobs(&app.state).await.unwrap();
    assert!(transactions(&app, "").await.is_empty());
}

async fn immediate_mode_delivers_before_the_answer(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    setup(&app, &server, &url, json!({})).await;
    let made = app
        .post(CLIENT_RECORDS)
        .json(&json!({"Id": "now-1", "Attributes": {"name": "Right away"}}))
        .send()
        .await
        .expect(StatusCode::CREATED)
        .json();
    assert_eq!(made["Transaction"]["Status"], "Processed");
    let there = server
        .get("/rest/v1/orgs/contoso/entities/account/records/now-1")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(there["Attributes"]["name"], "Right away");
    // Then an update of it, on the version the server gave back.
    let changed = app
        .patch(&format!("{CLIENT_RECORDS}/now-1"))
        .json(&json!({"Attributes": {"numberofemployees": 3}}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(changed["Transaction"]["Status"], "Processed", "{changed}");
    let res = app
        .post("/rest/v1/orgs/client/batch")
        .json(&json!({"Operations": [account_op("now-2", "Batch", 0)]}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(res["Results"][0]["Transaction"]["Status"], "Processed");
    assert_eq!(
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
}

async fn with_the_server_down_writes_stand_and_are_delivered_once_later(app: TestApp) {
    let server = TestApp::sqlite().await;
    server_org(&server).await;
    let proxy = Proxy::start(server.base());
    setup(&app, &server, &proxy.org_url("contoso"), json!({})).await;
    proxy.set(ProxyMode::Down);
    let made = app
        .post(CLIENT_RECORDS)
        .json(&json!({"Id": "down-1", "Attributes": {"name": "While down"}}))
        .send()
        .await
        .expect(StatusCode::CREATED)
        .json();
    // The answer says what the transactions list says: Error, and what sends it again.
    assert_eq!(made["Transaction"]["Status"], "Error", "{made}");
    assert_eq!(
        made["Transaction"]["Error"]["Code"], "server_unavailable",
        "{made}"
    );
    assert!(
        made["Transaction"]["Note"]
            .as_str()
            .unwrap()
            .contains("the next sync sends it again"),
        "{made}"
    );
    app.post(CLIENT_RECORDS)
        .json(&json!({"Id": "down-2", "Attributes": {"name": "Also while down"}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    app.patch(&format!("{CLIENT_RECORDS}/acc-00001"))
        .json(&json!({"Attributes": {"name": "Changed while down"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        digest(&app, "client", "account").await.len(),
        7,
        "the writes stand locally"
    );
    let errors = transactions(&app, "?Status=Error").await;
    assert_eq!(errors.len(), 3);
    assert_eq!(errors[0]["Error"]["Code"], "server_unavailable");

    proxy.set(ProxyMode::Forward);
    let before = server_version(&server).await;
    let set = app
        .post("/rest/v1/sync/client/transactions/SetAllToPending")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(set["Updated"], 3);
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        server_version(&server).await,
        before + 3,
        "each delivered exactly once"
    );
    assert_eq!(
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
}

async fn a_lost_answer_is_never_applied_twice(app: TestApp) {
    let server = TestApp::sqlite().await;
    server_org(&server).await;
    let proxy = Proxy::start(server.base());
    setup(&app, &server, &proxy.org_url("contoso"), json!({})).await;
    proxy.set(ProxyMode::DropResponse);
    let made = app
        .post(CLIENT_RECORDS)
        .json(&json!({"Id": "lost-1", "Attributes": {"name": "Answer lost"}}))
        .send()
        .await
        .expect(StatusCode::CREATED)
        .json();
    assert_eq!(made["Transaction"]["Status"], "Error", "{made}");
    // The server did apply it; the client could not know.
    let applied = server
        .get("/rest/v1/orgs/contoso/entities/account/records/lost-1")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let after_first = server_version(&server).await;
    let tx = &transactions(&app, "?Status=Error").await[0];
    assert_eq!(tx["InFlight"], true);
    proxy.set(ProxyMode::Forward);
    app.post("/rest/v1/sync/client/transactions/SetAllToPending")
        .send()
        .await
        .expect(StatusCode::OK);
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        server_version(&server).await,
        after_first,
        "the retry applied nothing"
    );
    let now = server
        .get("/rest/v1/orgs/contoso/entities/account/records/lost-1")
        .send()
        .await
        .json();
    assert_eq!(now["Version"], applied["Version"]);
    assert_eq!(transactions(&app, "?Status=Processed").await.len(), 1);
}

async fn archived_transactions_are_never_delivered(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    setup(&app, &server, &url, json!({"WriteOffline": true})).await;
    let made = app
        .post(CLIENT_RECORDS)
        .json(&json!({"Id": "kept-here", "Attributes": {"name": "Local only"}}))
        .send()
        .await
        .json();
    let id = made["Transaction"]["TransactionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let archived = app
        .post("/rest/v1/sync/client/transactions/SetToArchived")
        .json(&json!({"Ids": [id]}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(archived["Transactions"][0]["Status"], "Archived");
    app.sync("client", json!({"Direction": "Outbound"})).await;
    assert_eq!(
        server
            .get("/rest/v1/orgs/contoso/entities/account/records/kept-here")
            .send()
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(transactions(&app, "?Status=Archived").await.len(), 1);
    // Pending again, it goes.
    let xml = format!("<TxIds><Ids><Id>{id}</Id></Ids></TxIds>");
    app.post("/rest/v1/sync/client/transactions/SetToPending")
        .xml(&xml)
        .send()
        .await
        .expect(StatusCode::OK);
    app.sync("client", json!({"Direction": "Outbound"})).await;
    server
        .get("/rest/v1/orgs/contoso/entities/account/records/kept-here")
        .send()
        .await
        .expect(StatusCode::OK);
    app.post("/rest/v1/sync/client/transactions/SetToArchived")
        .json(&json!({"Ids": [id]}))
        .send()
        .await
        .problem(StatusCode::CONFLICT, "transaction_settled");
    app.post("/rest/v1/sync/client/transactions/SetToPending")
        .json(&json!({"Ids": ["nope"]}))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "transaction_not_found");
    // Another org's token sees none of it.
    let other = app.org("other").await;
    let token = app.token(Role::OrgAdmin, &other).await;
    app.get("/rest/v1/sync/client/transactions")
        .bearer(&token)
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
    app.get(&format!("/rest/v1/sync/client/transactions/{id}"))
        .bearer(&token)
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
    app.get(&format!("/rest/v1/sync/other/transactions/{id}"))
        .bearer(&token)
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "transaction_not_found");
}

/// A transaction the server refuses waits in Error, and every sync says so: it counts it as
/// Stuck, logs why, and ends CompletedWithErrors, until SetToPending sends it again.
async fn a_refused_transaction_is_reported_until_set_to_pending(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    setup(&app, &server, &url, json!({})).await;
    // The server's names get shorter than the client's metadata knows.
    let mut account = account_definition();
    account["Attributes"][0]["MaxLength"] = json!(5);
    server
        .put("/rest/v1/orgs/contoso/metadata/entities/account")
        .json(&account)
        .send()
        .await
        .expect(StatusCode::OK);
    let made = app
        .post(CLIENT_RECORDS)
        .json(&json!({"Id": "long-1", "Attributes": {"name": "Far too long"}}))
        .send()
        .await
        .expect(StatusCode::CREATED)
        .json();
    let receipt = &made["Transaction"];
    assert_eq!(receipt["Status"], "Error", "{made}");
    assert_eq!(receipt["Error"]["Code"], "attribute_too_long", "{made}");
    assert!(
        receipt["Note"].as_str().unwrap().contains("SetToPending"),
        "{made}"
    );
    let listed = transactions(&app, "?Status=Error").await;
    assert_eq!(listed[0]["TransactionId"], receipt["TransactionId"]);
    assert_eq!(
        listed[0]["Error"], receipt["Error"],
        "one status, one error, in both places"
    );
    for _ in 0..2 {
        let job = app.sync("client", json!({})).await;
        assert_eq!(job["Status"], "CompletedWithErrors", "{job}");
        assert_eq!(job["Summary"]["account"]["Stuck"], 1, "{job}");
        let log = app.job_log(job["JobId"].as_str().unwrap()).await;
        assert!(
            log.iter().any(|e| e["Action"] == "StuckTransactions"
                && e["Level"] == "Warning"
                && e["Message"]
                    .as_str()
                    .unwrap()
                    .starts_with("1 transactions of 'account' were refused")),
            "{log:?}"
        );
    }
    // Set aside, it no longer holds the sync back.
    app.post("/rest/v1/sync/client/transactions/SetToArchived")
        .json(&json!({"Ids": [receipt["TransactionId"]]}))
        .send()
        .await
        .expect(StatusCode::OK);
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert!(job["Summary"]["account"].get("Stuck").is_none(), "{job}");
}

both_backends!(
    a_refused_transaction_is_reported_until_set_to_pending,
    offline_writes_wait_for_the_sync_which_delivers_them,
    immediate_mode_delivers_before_the_answer,
    with_the_server_down_writes_stand_and_are_delivered_once_later,
    a_lost_answer_is_never_applied_twice,
    archived_transactions_are_never_delivered
);

/// Both sides change acc-00001: the client its name, the server its name and its employees.
async fn conflict_with(app: &TestApp, policy: &str) -> (TestApp, Value) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    setup(
        app,
        &server,
        &url,
        json!({"WriteOffline": true, "ConflictPolicy": policy}),
    )
    .await;
    app.patch(&format!("{CLIENT_RECORDS}/acc-00001"))
        .json(&json!({"Attributes": {"name": "Client name"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    server.write_batch("contoso", vec![json!({"Op": "Upsert", "Entity": "account", "Id": "acc-00001", "Attributes": {"name": "Server name", "numberofemployees": 99}})]).await;
    let job = app.sync("client", json!({})).await;
    (server, job)
}

async fn record(app: &TestApp, org: &str, id: &str) -> Value {
    app.get(&format!(
        "/rest/v1/orgs/{org}/entities/account/records/{id}"
    ))
    .send()
    .await
    .expect(StatusCode::OK)
    .json()["Attributes"]
        .clone()
}

async fn server_wins_drops_the_client_change(app: TestApp) {
    let (server, job) = conflict_with(&app, "ServerWins").await;
    assert_eq!(job["Summary"]["account"]["Conflicts"], 1, "{job}");
    assert_eq!(
        record(&server, "contoso", "acc-00001").await["name"],
        "Server name"
    );
    assert_eq!(
        record(&app, "client", "acc-00001").await,
        record(&server, "contoso", "acc-00001").await
    );
    let tx = &transactions(&app, "").await[0];
    assert_eq!(
        (tx["Status"].as_str(), tx["Resolution"].as_str()),
        (Some("Processed"), Some("ServerWins"))
    );
}

async fn client_wins_applies_only_what_the_client_changed(app: TestApp) {
    let (server, job) = conflict_with(&app, "ClientWins").await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let on_server = record(&server, "contoso", "acc-00001").await;
    assert_eq!(on_server["name"], "Client name");
    assert_eq!(
        on_server["numberofemployees"], 99,
        "the server's other change stays"
    );
    app.sync("client", json!({})).await;
    assert_eq!(record(&app, "client", "acc-00001").await, on_server);
}

async fn client_wins_full_overwrites_the_whole_record(app: TestApp) {
    let (server, job) = conflict_with(&app, "ClientWinsFull").await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let on_server = record(&server, "contoso", "acc-00001").await;
    assert_eq!(on_server["name"], "Client name");
    assert_eq!(
        on_server["numberofemployees"], 10,
        "the client's whole record"
    );
    assert_eq!(record(&app, "client", "acc-00001").await, on_server);
}

async fn manual_opens_a_conflict_that_resolve_settles(app: TestApp) {
    let (server, job) = conflict_with(&app, "Manual").await;
    assert_eq!(job["Status"], "CompletedWithErrors", "{job}");
    let tx = &transactions(&app, "").await[0];
    assert_eq!(tx["Status"], "Error");
    assert_eq!(tx["Error"]["Code"], "conflict");
    let conflicts = app
        .get("/rest/v1/sync/client/conflicts")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let c = &conflicts["Conflicts"][0];
    assert_eq!(c["RecordId"], "acc-00001");
    assert_eq!(c["ClientAttributes"]["name"], "Client name");
    assert_eq!(c["ServerRecord"]["Attributes"]["name"], "Server name");
    let id = c["ConflictId"].as_str().unwrap();
    // A later client write to the same record waits behind the conflict.
    app.patch(&format!("{CLIENT_RECORDS}/acc-00001"))
        .json(&json!({"Attributes": {"description": "later"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    app.sync("client", json!({"Direction": "Outbound"})).await;
    assert!(
        record(&server, "contoso", "acc-00001")
            .await
            .get("description")
            .is_none(),
        "held behind the conflict"
    );
    let resolved = app
        .post(&format!("/rest/v1/sync/client/conflicts/{id}/Resolve"))
        .json(&json!({"Take": "Client"}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(resolved["Status"], "Resolved");
    assert_eq!(resolved["Resolution"], "Client");
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let on_server = record(&server, "contoso", "acc-00001").await;
    assert_eq!(
        (
            on_server["name"].as_str(),
            on_server["description"].as_str()
        ),
        (Some("Client name"), Some("later"))
    );
    app.post(&format!("/rest/v1/sync/client/conflicts/{id}/Resolve"))
        .json(&json!({"Take": "Server"}))
        .send()
        .await
        .problem(StatusCode::CONFLICT, "conflict_resolved");

    // A second conflict, settled the server's way.
    app.patch(&format!("{CLIENT_RECORDS}/acc-00003"))
        .json(&json!({"Attributes": {"name": "Client again"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    server.write_batch("contoso", vec![json!({"Op": "Upsert", "Entity": "account", "Id": "acc-00003", "Attributes": {"name": "Server again"}})]).await;
    app.sync("client", json!({"Direction": "Outbound"})).await;
    let open = app
        .get("/rest/v1/sync/client/conflicts")
        .send()
        .await
        .json();
    let id = open["Conflicts"][0]["ConflictId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/rest/v1/sync/client/conflicts/{id}/Resolve"))
        .json(&json!({"Take": "Server"}))
        .send()
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        record(&app, "client", "acc-00003").await["name"],
        "Server again"
    );
    assert_eq!(transactions(&app, "?Status=Archived").await.len(), 1);
    app.sync("client", json!({})).await;
    assert_eq!(
        record(&server, "contoso", "acc-00003").await["name"],
        "Server again"
    );
    assert_eq!(
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
}

/// Field by field: the client's record is sent with the fields the admin took from the server.
async fn resolve_takes_the_chosen_fields(app: TestApp) {
    let (server, _) = conflict_with(&app, "Manual").await;
    let open = app
        .get("/rest/v1/sync/client/conflicts")
        .send()
        .await
        .json();
    let id = open["Conflicts"][0]["ConflictId"]
        .as_str()
        .unwrap()
        .to_owned();
    let resolve = format!("/rest/v1/sync/client/conflicts/{id}/Resolve");
    app.post(&resolve)
        .json(&json!({"Take": "Server", "Attributes": {"numberofemployees": 99}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.post(&resolve)
        .json(&json!({"Take": "Client", "Attributes": {"nope": 1}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_attribute");
    let still = app
        .get("/rest/v1/sync/client/conflicts")
        .send()
        .await
        .json();
    assert_eq!(
        still["Conflicts"][0]["Status"], "Open",
        "a refused resolve changes nothing"
    );
    let resolved = app
        .post(&resolve)
        .json(&json!({"Take": "Client", "Attributes": {"numberofemployees": 99}}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(resolved["Resolution"], "Client");
    app.sync("client", json!({})).await;
    let on_server = record(&server, "contoso", "acc-00001").await;
    assert_eq!(
        (&on_server["name"], &on_server["numberofemployees"]),
        (&json!("Client name"), &json!(99)),
        "the client's name, the server's employees"
    );
    assert_eq!(record(&app, "client", "acc-00001").await, on_server);
}

async fn an_update_to_a_record_the_server_deleted_is_a_conflict_never_a_resurrection(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    setup(
        &app,
        &server,
        &url,
        json!({"WriteOffline": true, "ConflictPolicy": "Manual"}),
    )
    .await;
    app.patch(&format!("{CLIENT_RECORDS}/acc-00004"))
        .json(&json!({"Attributes": {"name": "Edited"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    server
        .delete("/rest/v1/orgs/contoso/entities/account/records/acc-00004")
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    app.sync("client", json!({"Direction": "Outbound"})).await;
    assert_eq!(
        server
            .get("/rest/v1/orgs/contoso/entities/account/records/acc-00004")
            .send()
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let conflicts = app
        .get("/rest/v1/sync/client/conflicts")
        .send()
        .await
        .json();
    assert_eq!(conflicts["Conflicts"][0]["RecordId"], "acc-00004");
    assert!(
        conflicts["Conflicts"][0].get("ServerRecord").is_none(),
        "the server has no record"
    );
    // Its tombstone purged on the server, the answer is the same.
    server.purge_tombstones_now().await;
    app.patch(&format!("{CLIENT_RECORDS}/acc-00003"))
        .json(&json!({"Attributes": {"name": "Edited too"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    server
        .delete("/rest/v1/orgs/contoso/entities/account/records/acc-00003")
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    server.purge_tombstones_now().await;
    app.sync("client", json!({"Direction": "Outbound"})).await;
    assert_eq!(
        server
            .get("/rest/v1/orgs/contoso/entities/account/records/acc-00003")
            .send()
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

both_backends!(
    server_wins_drops_the_client_change,
    client_wins_applies_only_what_the_client_changed,
    client_wins_full_overwrites_the_whole_record,
    manual_opens_a_conflict_that_resolve_settles,
    resolve_takes_the_chosen_fields,
    an_update_to_a_record_the_server_deleted_is_a_conflict_never_a_resurrection
);

fn small_batches(s: &mut orgsync::config::Settings) {
    s.sync_batch = 4;
}

/// Batches of 4 operations, and records written several times in turns: a record's chain of
/// transactions is cut where a batch ends and goes on in the next one, in order. The server
/// ends as the client is, and every transaction is delivered once.
async fn chains_longer_than_a_batch_are_delivered_in_order(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    setup(&app, &server, &url, json!({"WriteOffline": true})).await;
    for round in 0..3 {
        for i in 0..6 {
            let name = format!("Client record {i}, version {round}");
            if round == 0 {
                app.post(CLIENT_RECORDS)
                    .json(&json!({"Id": format!("c-{i}"), "Attributes": {"name": name}}))
                    .send()
                    .await
                    .expect(StatusCode::CREATED);
            } else {
                app.patch(&format!("{CLIENT_RECORDS}/c-{i}"))
                    .json(&json!({"Attributes": {"name": name}}))
                    .send()
                    .await
                    .expect(StatusCode::OK);
            }
        }
    }
    app.delete(&format!("{CLIENT_RECORDS}/c-5"))
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(transactions(&app, "?Status=Pending").await.len(), 19);
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert!(transactions(&app, "?Status=Pending").await.is_empty());
    assert!(transactions(&app, "?Status=Error").await.is_empty());
    let client = digest(&app, "client", "account").await;
    assert_eq!(client, digest(&server, "contoso", "account").await);
    assert_eq!(
        client["c-4"]["name"], "Client record 4, version 2",
        "{client:?}"
    );
    assert!(!client.contains_key("c-5"), "{client:?}");
}

/// The next batch is claimed while one is in flight. When that one's answer is lost, the batch
/// claimed meanwhile was never sent: its transactions go back unclaimed, without a try, and a
/// later sync delivers every one once.
async fn a_batch_claimed_while_another_was_lost_goes_back_unsent(app: TestApp) {
    let server = TestApp::sqlite().await;
    server_org(&server).await;
    let proxy = Proxy::start(server.base());
    setup(
        &app,
        &server,
        &proxy.org_url("contoso"),
        json!({"WriteOffline": true}),
    )
    .await;
    for i in 0..10 {
        app.post(CLIENT_RECORDS)
            .json(&json!({"Id": format!("c-{i}"), "Attributes": {"name": format!("Client {i}")}}))
            .send()
            .await
            .expect(StatusCode::CREATED);
    }
    let before = server_version(&server).await;
    proxy.set(ProxyMode::DropResponse);
    let job = app.sync("client", json!({})).await;
    assert_ne!(job["Status"], "Completed", "{job}");
    let all = transactions(&app, "").await;
    assert_eq!(all.len(), 10, "{all:?}");
    let sent: Vec<&Value> = all.iter().filter(|t| t["Tries"] == 1).collect();
    assert_eq!(sent.len(), 4, "one batch of 4 was sent: {all:?}");
    assert!(sent.iter().all(|t| t["InFlight"] == true), "{sent:?}");
    let back: Vec<&Value> = all.iter().filter(|t| t["Tries"] == 0).collect();
    assert_eq!(back.len(), 6, "{all:?}");
    assert!(
        back.iter()
            .all(|t| t["Status"] == "Pending" && t["InFlight"] == false),
        "{back:?}"
    );
    assert_eq!(
        server_version(&server).await,
        before + 4,
        "only the batch sent was applied"
    );

    proxy.set(ProxyMode::Forward);
    app.post("/rest/v1/sync/client/transactions/SetAllToPending")
        .send()
        .await
        .expect(StatusCode::OK);
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(transactions(&app, "?Status=Processed").await.len(), 10);
    assert_eq!(
        server_version(&server).await,
        before + 10,
        "each record applied once"
    );
    assert_eq!(
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
}

both_backends_with!(
    small_batches;
    chains_longer_than_a_batch_are_delivered_in_order,
    a_batch_claimed_while_another_was_lost_goes_back_unsent
);
