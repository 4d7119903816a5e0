//! SyncAsync across two real instances: the client ends equal to the server.

use orgsync::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::digest::digest;
use crate::testkit::fixtures::{account_definition, account_op, server_org};
use crate::testkit::launch::TestApp;

async fn seeded_server(n: usize) -> (TestApp, String) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let ops = (0..n)
        .map(|i| {
            account_op(
                &format!("acc-{i:05}"),
                &format!("Account {i}"),
                (i % 3 == 0) as i64,
            )
        })
        .collect();
    server.write_batch("contoso", ops).await;
    (server, url)
}

fn counts(job: &Value, entity: &str) -> (i64, i64, i64, i64, i64) {
    let s = &job["Summary"][entity];
    let n = |k: &str| s[k].as_i64().unwrap_or(0);
    (
        n("Created"),
        n("Updated"),
        n("Deleted"),
        n("Skipped"),
        n("Failed"),
    )
}

async fn incremental_sync_keeps_the_client_equal_to_the_server(app: TestApp) {
    let (server, url) = seeded_server(120).await;
    app.connect("client", &url, json!({"Entities": ["account", "contact"]}))
        .await;
    let first = app
        .post("/rest/v1/sync/client/SyncAsync")
        .json(&json!({}))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    // A second call while the first is queued or running gives the same job.
    let second = app
        .post("/rest/v1/sync/client/SyncAsync")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(second["JobId"], first["JobId"]);
    let job = app
        .wait_job(
            first["JobId"].as_str().unwrap(),
            &["Completed", "CompletedWithErrors", "Failed"],
            60,
        )
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(counts(&job, "account"), (120, 0, 0, 0, 0));
    assert_eq!(
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
    let log = app
        .get(&format!(
            "/rest/v1/jobs/{}/log?Entity=account&Limit=5",
            job["JobId"].as_str().unwrap()
        ))
        .send()
        .await
        .json();
    assert_eq!(log["Entries"][0]["Action"], "Create");
    assert!(log["Entries"][0]["RecordId"].is_string());
    // Each record has its entry, once, however the log is paged.
    let mut created = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(&format!(
                "/rest/v1/jobs/{}/log?Entity=account&Limit=7{cursor}",
                job["JobId"].as_str().unwrap()
            ))
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        let entries = page["Entries"].as_array().unwrap();
        assert!(entries.len() <= 7, "{page}");
        created.extend(
            entries
                .iter()
                .filter(|e| e["Action"] == "Create")
                .map(|e| e["RecordId"].as_str().unwrap().to_owned()),
        );
        match page["Next"].as_str() {
            Some(next) => cursor = format!("&Cursor={next}"),
            None => break,
        }
    }
    let distinct: std::collections::BTreeSet<&String> = created.iter().collect();
    assert_eq!((created.len(), distinct.len()), (120, 120), "{created:?}");
    let one = app
        .get(&format!(
            "/rest/v1/jobs/{}/log?RecordId={}",
            job["JobId"].as_str().unwrap(),
            created[60]
        ))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let entries = one["Entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{one}");
    assert_eq!(entries[0]["RecordId"], created[60].as_str(), "{one}");

    // Creates, updates, deletes and a natural-key change on the server.
    server.write_batch("contoso", vec![
        account_op("acc-new-1", "New one", 0),
        json!({"Op": "Upsert", "Entity": "account", "Id": "acc-00001", "Attributes": {"name": "Renamed"}}),
        json!({"Op": "Upsert", "Entity": "account", "Id": "acc-00002", "Attributes": {"emailaddress1": "changed@example.com"}}),
        json!({"Op": "Delete", "Entity": "account", "Id": "acc-00003"}),
        json!({"Op": "Delete", "Entity": "account", "Id": "acc-00004"}),
    ]).await;
    let written = app.metric("orgsync_records_written_total").await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(counts(&job, "account"), (1, 2, 2, 0, 0));
    assert_eq!(
        app.metric("orgsync_records_written_total").await - written,
        5.0,
        "the sync's writes are counted"
    );
    let client = digest(&app, "client", "account").await;
    assert_eq!(client, digest(&server, "contoso", "account").await);
    assert_eq!(client["acc-00002"]["emailaddress1"], "changed@example.com");
    assert_eq!(
        client
            .values()
            .filter(|a| a["emailaddress1"] == "changed@example.com")
            .count(),
        1,
        "a natural-key change is one record"
    );
    // Nothing changed: nothing to do.
    let idle = app.sync("client", json!({"Direction": "Inbound"})).await;
    assert_eq!(counts(&idle, "account"), (0, 0, 0, 0, 0));
    let link = &app.get("/rest/v1/sync/client/links").send().await.json()["Links"][0];
    assert_eq!(link["NeedsFull"], false);
    assert!(link["Checkpoint"].is_string());
}

async fn a_filter_keeps_exactly_the_matching_records(app: TestApp) {
    let (server, url) = seeded_server(30).await;
    let filter = r#"<SyncFilters><Entity name="account"><filter><condition attribute="statecode" operator="eq" value="0"/></filter></Entity></SyncFilters>"#;
    app.connect("client", &url, json!({"SyncFiltersXml": filter}))
        .await;
    app.sync("client", json!({})).await;
    let in_scope = |d: &std::collections::BTreeMap<String, Value>| -> std::collections::BTreeMap<String, Value> {
        d.iter().filter(|(_, a)| a["statecode"] == 0).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    assert_eq!(
        digest(&app, "client", "account").await,
        in_scope(&digest(&server, "contoso", "account").await)
    );
    // One leaves the filter: it leaves the client.
    server.write_batch("contoso", vec![json!({"Op": "Upsert", "Entity": "account", "Id": "acc-00001", "Attributes": {"statecode": 1}})]).await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(counts(&job, "account").2, 1);
    let client = digest(&app, "client", "account").await;
    assert!(!client.contains_key("acc-00001"));
    assert_eq!(
        client,
        in_scope(&digest(&server, "contoso", "account").await)
    );
    // A new filter re-reads the link in full. It takes every record the client holds out of
    // scope: the delete guard holds the job until it is approved.
    let link = app.patch("/rest/v1/sync/client/links/account")
        .json(&json!({"SyncFilter": {"Conditions": [{"Attribute": "statecode", "Operator": "eq", "Value": 1}]}}))
        .send().await.expect(StatusCode::OK).json();
    assert_eq!(link["NeedsFull"], true);
    let held = app.sync("client", json!({})).await;
    assert_eq!(held["Status"], "Held", "{held}");
    assert_eq!(held["Summary"]["account"]["PlannedDeletes"], 19, "{held}");
    let job = app.approve(&held).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(counts(&job, "account").2, 19);
    let server_all = digest(&server, "contoso", "account").await;
    let inactive: std::collections::BTreeMap<String, Value> = server_all
        .into_iter()
        .filter(|(_, a)| a["statecode"] == 1)
        .collect();
    assert_eq!(digest(&app, "client", "account").await, inactive);
}

async fn additive_mode_never_deletes(app: TestApp) {
    let (server, url) = seeded_server(10).await;
    app.connect("client", &url, json!({"SyncMode": "Additive"}))
        .await;
    app.sync("client", json!({})).await;
    server
        .write_batch(
            "contoso",
            vec![
                json!({"Op": "Delete", "Entity": "account", "Id": "acc-00005"}),
                account_op("acc-x", "X", 0),
            ],
        )
        .await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(counts(&job, "account"), (1, 0, 0, 1, 0));
    let client = digest(&app, "client", "account").await;
    assert!(client.contains_key("acc-00005") && client.contains_key("acc-x"));
    let log = app
        .get(&format!(
            "/rest/v1/jobs/{}/log?RecordId=acc-00005",
            job["JobId"].as_str().unwrap()
        ))
        .send()
        .await
        .json();
    assert_eq!(log["Entries"][0]["Action"], "Skip");
    assert!(log["Entries"][0]["Message"]
        .as_str()
        .unwrap()
        .contains("Additive"));
    // A full sync does not remove it either.
    app.sync("client", json!({"Full": true})).await;
    assert!(digest(&app, "client", "account")
        .await
        .contains_key("acc-00005"));
}

async fn a_full_mirror_sync_removes_what_the_server_lacks(app: TestApp) {
    let (server, url) = seeded_server(20).await;
    app.connect("client", &url, json!({})).await;
    app.sync("client", json!({})).await;
    // While the client is disconnected, the server deletes two records the client got from it,
    // and the client writes two of its own.
    app.delete("/rest/v1/sync/client/connection")
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    server
        .write_batch(
            "contoso",
            vec![
                json!({"Op": "Delete", "Entity": "account", "Id": "acc-00003"}),
                json!({"Op": "Delete", "Entity": "account", "Id": "acc-00004"}),
            ],
        )
        .await;
    app.write_batch(
        "client",
        vec![
            account_op("stray-1", "Stray", 0),
            account_op("stray-2", "Stray", 0),
        ],
    )
    .await;
    app.connect("client", &url, json!({})).await;
    let job = app.sync("client", json!({"Full": true})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    // The records that came from the server and left it go; the client's own stay.
    assert_eq!(counts(&job, "account").2, 2);
    assert_eq!(job["Summary"]["account"]["LocalOnly"], 2, "{job}");
    let mut client = digest(&app, "client", "account").await;
    assert!(client.remove("stray-1").is_some() && client.remove("stray-2").is_some());
    assert_eq!(client, digest(&server, "contoso", "account").await);
}

async fn per_item_sync_touches_only_the_named_records(app: TestApp) {
    let (server, url) = seeded_server(10).await;
    app.connect("client", &url, json!({})).await;
    app.sync("client", json!({})).await;
    server.write_batch("contoso", vec![
        json!({"Op": "Upsert", "Entity": "account", "Id": "acc-00001", "Attributes": {"name": "One changed"}}),
        json!({"Op": "Upsert", "Entity": "account", "Id": "acc-00002", "Attributes": {"name": "Two changed"}}),
        json!({"Op": "Delete", "Entity": "account", "Id": "acc-00003"}),
    ]).await;
    let job = app
        .sync(
            "client",
            json!({"Entities": ["account"], "RecordIds": ["acc-00001", "acc-00003"]}),
        )
        .await;
    assert_eq!(counts(&job, "account"), (0, 1, 1, 0, 0));
    let client = digest(&app, "client", "account").await;
    assert_eq!(client["acc-00001"]["name"], "One changed");
    assert_eq!(
        client["acc-00002"]["name"], "Account 2",
        "not named: untouched"
    );
    assert!(!client.contains_key("acc-00003"));
    app.post("/rest/v1/sync/client/SyncAsync")
        .json(&json!({"RecordIds": ["acc-00001"]}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.post("/rest/v1/sync/client/SyncAsync")
        .json(&json!({"Entities": ["ghost"]}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "link_not_found");
}

async fn a_dry_run_writes_nothing(app: TestApp) {
    let (server, url) = seeded_server(15).await;
    app.connect("client", &url, json!({})).await;
    app.sync("client", json!({})).await;
    server.write_batch("contoso", vec![
        account_op("acc-new", "New", 0),
        json!({"Op": "Upsert", "Entity": "account", "Id": "acc-00001", "Attributes": {"name": "Changed"}}),
        json!({"Op": "Delete", "Entity": "account", "Id": "acc-00002"}),
    ]).await;
    let before = (
        digest(&app, "client", "account").await,
        app.get("/rest/v1/orgs/client").send().await.json(),
        app.get("/rest/v1/sync/client/links").send().await.json(),
    );
    let job = app.sync("client", json!({"DryRun": true})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(counts(&job, "account"), (1, 1, 1, 0, 0));
    assert_eq!(
        job["Summary"]["account"]["FirstIds"],
        json!({"Create": ["acc-new"], "Update": ["acc-00001"], "Delete": ["acc-00002"]})
    );
    let after = (
        digest(&app, "client", "account").await,
        app.get("/rest/v1/orgs/client").send().await.json(),
        app.get("/rest/v1/sync/client/links").send().await.json(),
    );
    assert_eq!(
        after, before,
        "records, versions and checkpoints are untouched"
    );
    // The real sync then does what the dry run said.
    let real = app.sync("client", json!({})).await;
    assert_eq!(counts(&real, "account"), (1, 1, 1, 0, 0));
}

async fn a_bad_record_does_not_stop_the_others(app: TestApp) {
    let (server, url) = seeded_server(5).await;
    app.connect("client", &url, json!({})).await;
    // The server widens a field the client does not know about yet.
    let mut def = account_definition();
    def["Attributes"][0]["MaxLength"] = json!(1000);
    server.entity("contoso", "account", def).await;
    server
        .write_batch(
            "contoso",
            vec![
                account_op("too-long", &"x".repeat(500), 0),
                account_op("fine", "Fine", 0),
            ],
        )
        .await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "CompletedWithErrors", "{job}");
    assert_eq!(counts(&job, "account"), (6, 0, 0, 0, 1));
    let log = app
        .get(&format!(
            "/rest/v1/jobs/{}/log?Level=Error",
            job["JobId"].as_str().unwrap()
        ))
        .send()
        .await
        .json();
    assert_eq!(log["Entries"][0]["RecordId"], "too-long");
    assert!(log["Entries"][0]["Message"]
        .as_str()
        .unwrap()
        .contains("attribute_too_long"));
    assert!(digest(&app, "client", "account").await.contains_key("fine"));
}

async fn quota_overuse_is_reported_not_enforced(app: TestApp) {
    let (_server, url) = seeded_server(5).await;
    app.post("/rest/v1/orgs")
        .json(&json!({"Name": "client", "Quotas": {"Entities": {"account": 3}}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    app.connect("client", &url, json!({})).await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed");
    assert_eq!(counts(&job, "account").0, 5, "every record came");
    assert_eq!(job["Summary"]["account"]["OverQuota"], true);
    let usage = app.get("/rest/v1/orgs/client/usage").send().await.json();
    assert_eq!(usage["OverQuota"], true);
}

async fn sync_all_and_the_scheduler_queue_syncs(app: TestApp) {
    let (_server, url) = seeded_server(3).await;
    app.connect("client-1", &url, json!({})).await;
    app.connect("client-2", &url, json!({"SyncInterval": "PT60S"}))
        .await;
    let all = app
        .post("/rest/v1/sync/SyncAllAsync")
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let jobs = all["Jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    for j in jobs {
        let job = app
            .wait_job(j["JobId"].as_str().unwrap(), &["Completed"], 60)
            .await;
        assert_eq!(job["Kind"], "Sync");
    }
    app.post("/rest/v1/sync/SyncAllAsync")
        .bearer(&app.token(Role::OrgAdmin, "client-1").await)
        .send()
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    // Make client-2's last sync an hour old: the scheduler queues its next one.
    {
        use diesel::prelude::*;
        use orgsync::db::schema::{connections, jobs};
        let mut conn = app.state.db.get().unwrap();
        let old = orgsync::db::now_micros() - 3_600_000_000;
        diesel::update(connections::table)
            .set(connections::last_sync_on.eq(old))
            .execute(&mut *conn)
            .unwrap();
        diesel::update(jobs::table)
            .set(jobs::entered_on.eq(old))
            .execute(&mut *conn)
            .unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let listed = app.get("/rest/v1/jobs?Kind=Sync").send().await.json();
        let scheduled: Vec<&Value> = listed["Jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["AddedBy"] == "scheduler")
            .collect();
        if !scheduled.is_empty() {
            assert!(
                scheduled.iter().all(|j| j["Org"] == "client-2"),
                "only the org with an interval: {scheduled:?}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduler queued nothing"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn an_expired_server_token_falls_back_to_a_full_sync(app: TestApp) {
    let (server, url) = seeded_server(10).await;
    app.connect("client", &url, json!({})).await;
    app.sync("client", json!({})).await;
    server
        .write_batch(
            "contoso",
            vec![json!({"Op": "Delete", "Entity": "account", "Id": "acc-00004"})],
        )
        .await;
    server.purge_tombstones_now().await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let log = app
        .get(&format!(
            "/rest/v1/jobs/{}/log?Action=x",
            job["JobId"].as_str().unwrap()
        ))
        .send()
        .await;
    assert_eq!(
        log.status,
        StatusCode::BAD_REQUEST,
        "unknown query members are refused"
    );
    let log = app
        .get(&format!(
            "/rest/v1/jobs/{}/log?Level=Warning",
            job["JobId"].as_str().unwrap()
        ))
        .send()
        .await
        .json();
    assert_eq!(log["Entries"][0]["Action"], "TokenExpired");
    assert_eq!(
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
}

/// Money is exact end to end: a number and a string with more digits than a binary float
/// holds go through a batch, the change feed, a filter and a sync, and come back as written.
async fn money_keeps_every_digit(app: TestApp) {
    const BIG: &str = "90071992547409.9999";
    const SMALL: &str = "-0.0001";
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let results = server
        .batch(
            "contoso",
            format!(
                r#"{{"Operations": [
                  {{"Op": "Upsert", "Entity": "account", "Id": "big", "Attributes": {{"name": "Big", "revenue": {BIG}}}}},
                  {{"Op": "Upsert", "Entity": "account", "Id": "small", "Attributes": {{"name": "Small", "revenue": "{SMALL}"}}}},
                  {{"Op": "Upsert", "Entity": "account", "Id": "round", "Attributes": {{"name": "Round", "revenue": 90071992547410}}}}]}}"#
            ),
        )
        .await;
    assert!(
        results
            .iter()
            .all(|r| r["Status"] == 200 || r["Status"] == 201),
        "{results:?}"
    );
    let revenue = |record: &Value| record["Attributes"]["revenue"].to_string();
    let (changes, _) = server.all_changes("contoso", None, json!({})).await;
    let by_id = |changes: &[Value], id: &str| {
        changes
            .iter()
            .find(|c| c["Id"] == id)
            .map(revenue)
            .unwrap_or_default()
    };
    assert_eq!(by_id(&changes, "big"), BIG);
    assert_eq!(
        by_id(&changes, "small"),
        SMALL,
        "a string is read as the number it holds"
    );
    // A filter compares exactly: the two largest differ in the last of 18 digits.
    let filtered = |op: &str, value: &str| {
        json!({"SyncFilters": {"account": {"Conditions": [
            {"Attribute": "revenue", "Operator": op, "Value": value}]}}})
    };
    let (eq, _) = server
        .all_changes("contoso", None, filtered("eq", BIG))
        .await;
    let ids: Vec<&str> = eq
        .iter()
        .filter(|c| c["Op"] == "Upsert")
        .map(|c| c["Id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["big"]);
    let (lt, _) = server
        .all_changes("contoso", None, filtered("lt", "90071992547410"))
        .await;
    let mut ids: Vec<&str> = lt
        .iter()
        .filter(|c| c["Op"] == "Upsert")
        .map(|c| c["Id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["big", "small"]);

    app.connect("client", &url, json!({"Entities": ["account"]}))
        .await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    for (id, expected) in [("big", BIG), ("small", SMALL), ("round", "90071992547410")] {
        let path = format!("/rest/v1/orgs/client/entities/account/records/{id}");
        let record = app.get(&path).send().await.expect(StatusCode::OK).json();
        assert_eq!(revenue(&record), expected, "{record}");
        let xml = app
            .get(&path)
            .accept_xml()
            .send()
            .await
            .expect(StatusCode::OK)
            .text();
        assert!(
            xml.contains(&format!("<revenue>{expected}</revenue>")),
            "{xml}"
        );
    }
    // What a decimal cannot hold exactly is refused, not rounded.
    app.post("/rest/v1/orgs/client/entities/account/records")
        .json(&json!({"Attributes": {"name": "Too fine", "revenue": "0.00000000000000000000000000001"}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_attribute_value");
}

both_backends!(
    money_keeps_every_digit,
    incremental_sync_keeps_the_client_equal_to_the_server,
    a_filter_keeps_exactly_the_matching_records,
    additive_mode_never_deletes,
    a_full_mirror_sync_removes_what_the_server_lacks,
    per_item_sync_touches_only_the_named_records,
    a_dry_run_writes_nothing,
    a_bad_record_does_not_stop_the_others,
    quota_overuse_is_reported_not_enforced,
    sync_all_and_the_scheduler_queue_syncs,
    an_expired_server_token_falls_back_to_a_full_sync
);

/// A running sync asked to cancel stops at its next batch boundary: part of the records came,
/// the job ends Cancelled, and what landed is consistent (each batch whole).
async fn a_running_sync_stops_at_a_batch_boundary(app: TestApp) {
    let (_server, url) = seeded_server(1500).await;
    app.connect("client", &url, json!({})).await;
    let id = app
        .post("/rest/v1/sync/client/SyncAsync")
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json()["JobId"]
        .as_str()
        .unwrap()
        .to_owned();
    loop {
        let job = app.get(&format!("/rest/v1/jobs/{id}")).send().await.json();
        if job["Progress"]["Done"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        assert_eq!(
            job["Status"].as_str().map(|s| s == "Completed"),
            Some(false),
            "finished before the cancel: {job}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    app.post(&format!("/rest/v1/jobs/{id}/Cancel"))
        .send()
        .await
        .expect(StatusCode::OK);
    let job = app
        .wait_job(&id, &["Cancelled", "Completed", "Failed"], 60)
        .await;
    assert_eq!(job["Status"], "Cancelled", "{job}");
    let held = digest(&app, "client", "account").await.len();
    assert!(held > 0 && held < 1500, "stopped part-way: {held}");
    assert_eq!(held % 10, 0, "whole batches only: {held}");
}

#[actix_web::test]
async fn a_running_sync_stops_at_a_batch_boundary_sqlite() {
    a_running_sync_stops_at_a_batch_boundary(TestApp::sqlite_with(|s| s.sync_batch = 10).await)
        .await;
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn a_running_sync_stops_at_a_batch_boundary_postgres() {
    let app = TestApp::postgres_with(|s| s.sync_batch = 10).await;
    a_running_sync_stops_at_a_batch_boundary(app).await;
}
