//! A sync never destroys client data silently: local-only records stay, MatchOn adopts
//! existing records, the delete guard holds mass deletes until approved, and what a job
//! deleted comes back with UndoDeletes. Two real instances, on both backends.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::client::Client;
use crate::testkit::digest::digest;
use crate::testkit::fixtures::{account_op, delete, server_org, upsert};
use crate::testkit::launch::TestApp;

async fn seeded_server(n: usize) -> (TestApp, String) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let ops = (0..n)
        .map(|i| account_op(&format!("acc-{i:05}"), &format!("Account {i}"), 0))
        .collect();
    server.write_batch("contoso", ops).await;
    (server, url)
}

fn summary(job: &Value, entity: &str, key: &str) -> i64 {
    job["Summary"][entity][key].as_i64().unwrap_or(0)
}

fn job_id(job: &Value) -> String {
    job["JobId"].as_str().unwrap().to_owned()
}

/// Every item of a job's quarantine, following `Next`.
async fn quarantine(app: &Client, job: &Value, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(&format!(
                "/rest/v1/jobs/{}/quarantine?Limit=250{query}{cursor}",
                job_id(job)
            ))
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        items.extend(page["Items"].as_array().unwrap().iter().cloned());
        match page["Next"].as_str() {
            Some(next) => cursor = format!("&Cursor={next}"),
            None => return items,
        }
    }
}

async fn undo(app: &Client, job: &Value, body: Value) -> Value {
    app.post(&format!("/rest/v1/jobs/{}/UndoDeletes", job_id(job)))
        .json(&body)
        .send()
        .await
        .expect(StatusCode::OK)
        .json()
}

async fn set_outbound(app: &Client, org: &str, on: bool) {
    app.patch(&format!("/rest/v1/sync/{org}/links/account"))
        .json(&json!({"Outbound": on}))
        .send()
        .await
        .expect(StatusCode::OK);
}

/// A client org holding three accounts of its own, named as three of the server's, and a
/// contact that points at one of them.
async fn client_with_records(app: &Client, org: &str) {
    app.crm_org(org).await;
    let ops = [(1, "Account 1"), (2, "  account 2 "), (3, "ACCOUNT 3")]
        .iter()
        .map(|(i, name)| {
            upsert("account", &format!("mine-{i}"))
                .attr("name", *name)
                .attr("description", format!("kept on the client {i}"))
                .build()
        })
        .chain([upsert("contact", "ct-1")
            .attr("fullname", "Ann")
            .attr("parentcustomerid", "mine-1")
            .build()])
        .collect();
    app.write_batch(org, ops).await;
}

async fn existing_records_survive_a_first_connect(app: TestApp) {
    let (server, url) = seeded_server(16).await;
    let on_server = digest(&server, "contoso", "account").await;

    // Without MatchOn: the three stay beside the server's sixteen.
    client_with_records(&app, "client").await;
    app.connect("client", &url, json!({})).await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(summary(&job, "account", "Created"), 16, "{job}");
    assert_eq!(summary(&job, "account", "Deleted"), 0, "{job}");
    assert_eq!(summary(&job, "account", "LocalOnly"), 3, "{job}");
    let client = digest(&app, "client", "account").await;
    assert_eq!(client.len(), 19);
    assert!(["mine-1", "mine-2", "mine-3"]
        .iter()
        .all(|id| client.contains_key(*id)));
    let log = app.job_log(&job_id(&job)).await;
    let local: Vec<&Value> = log.iter().filter(|e| e["Action"] == "LocalOnly").collect();
    assert_eq!(
        local.iter().filter(|e| e["Entity"] == "account").count(),
        3,
        "{log:?}"
    );
    // The contact is the client's own too.
    assert_eq!(summary(&job, "contact", "LocalOnly"), 1, "{job}");
    // Any number of full syncs later, they are still there.
    for _ in 0..2 {
        let job = app.sync("client", json!({"Full": true})).await;
        assert_eq!(job["Status"], "Completed", "{job}");
        assert_eq!(summary(&job, "account", "LocalOnly"), 3, "{job}");
    }
    assert_eq!(digest(&app, "client", "account").await, client);

    // With MatchOn on the name: the three are adopted, merged by ClientWins.
    client_with_records(&app, "client2").await;
    app.connect(
        "client2",
        &url,
        json!({"MatchOn": {"account": ["name"]}, "ConflictPolicy": "ClientWins"}),
    )
    .await;
    let connection = app
        .get("/rest/v1/sync/client2/connection")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(connection["MatchOn"], json!({"account": ["name"]}));
    let job = app.sync("client2", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(summary(&job, "account", "Matched"), 3, "{job}");
    assert_eq!(summary(&job, "account", "Created"), 13, "{job}");
    assert_eq!(summary(&job, "account", "Deleted"), 0, "{job}");
    let client = digest(&app, "client2", "account").await;
    assert_eq!(
        client.keys().collect::<Vec<_>>(),
        on_server.keys().collect::<Vec<_>>(),
        "16 records, none duplicated, each under the server's id"
    );
    for i in 1..=3 {
        let adopted = &client[&format!("acc-{i:05}")];
        assert_eq!(
            adopted["description"],
            format!("kept on the client {i}"),
            "{adopted}"
        );
        // The server's values fill what the client did not have.
        assert_eq!(adopted["emailaddress1"], format!("acc-{i:05}@example.com"));
    }
    // The client's lookup follows the adopted record to its new id.
    let contact = app
        .get("/rest/v1/orgs/client2/entities/contact/records/ct-1")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(contact["Attributes"]["parentcustomerid"], "acc-00001");
    let log = app.job_log(&job_id(&job)).await;
    let matched: Vec<&Value> = log.iter().filter(|e| e["Action"] == "Match").collect();
    assert_eq!(matched.len(), 3, "{log:?}");
    assert!(
        matched
            .iter()
            .any(|e| e["RecordId"] == "mine-2"
                && e["Message"].as_str().unwrap().contains("acc-00002"))
    );
    // What each record was before the adoption is kept.
    let kept = quarantine(&app, &job, "").await;
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().all(|k| k["Action"] == "Overwritten"));
    // ClientWins sends the client's part of the merge to the server with the next sync.
    let job = app.sync("client2", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        digest(&server, "contoso", "account").await["acc-00002"]["description"],
        "kept on the client 2"
    );
    assert_eq!(
        digest(&app, "client2", "account").await,
        digest(&server, "contoso", "account").await
    );
}

async fn an_ambiguous_match_merges_nothing(app: TestApp) {
    let (_server, url) = seeded_server(16).await;
    app.crm_org("client").await;
    app.write_batch(
        "client",
        vec![
            account_op("dup-1", "Account 5", 0),
            account_op("dup-2", "account 5", 0),
        ],
    )
    .await;
    app.connect("client", &url, json!({"MatchOn": {"account": ["name"]}}))
        .await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(summary(&job, "account", "Ambiguous"), 2, "{job}");
    assert_eq!(summary(&job, "account", "Matched"), 0, "{job}");
    assert_eq!(summary(&job, "account", "Created"), 16, "{job}");
    let client = digest(&app, "client", "account").await;
    assert_eq!(client.len(), 18);
    assert_eq!(client["dup-1"]["emailaddress1"], "dup-1@example.com");
    assert_eq!(client["dup-2"]["emailaddress1"], "dup-2@example.com");
    let log = app.job_log(&job_id(&job)).await;
    let ambiguous: Vec<&Value> = log.iter().filter(|e| e["Action"] == "Ambiguous").collect();
    assert_eq!(ambiguous.len(), 2, "{log:?}");
    assert!(ambiguous
        .iter()
        .all(|e| e["Message"].as_str().unwrap().contains("acc-00005")));
}

/// (c) and (d): 60 % of 1,000 synced records go on the server. One client sends outbound,
/// the other does not.
async fn the_guard_holds_a_mass_delete_and_undo_brings_it_back(app: TestApp) {
    let (server, url) = seeded_server(1000).await;
    let original = digest(&server, "contoso", "account").await;
    app.connect("client", &url, json!({})).await;
    app.connect("offline", &url, json!({})).await;
    set_outbound(&app, "offline", false).await;
    for org in ["client", "offline"] {
        let job = app.sync(org, json!({})).await;
        assert_eq!(job["Status"], "Completed", "{job}");
    }
    let gone: Vec<String> = (0..1000)
        .filter(|i| i % 5 < 3)
        .map(|i| format!("acc-{i:05}"))
        .collect();
    server
        .write_batch(
            "contoso",
            gone.iter().map(|id| delete("account", id)).collect(),
        )
        .await;

    let mut approved = BTreeMap::new();
    for org in ["client", "offline"] {
        let held = app.sync(org, json!({})).await;
        assert_eq!(held["Status"], "Held", "{held}");
        assert_eq!(held["Error"]["Code"], "delete_guard", "{held}");
        assert_eq!(summary(&held, "account", "PlannedDeletes"), 600, "{held}");
        assert_eq!(summary(&held, "account", "Deleted"), 0, "{held}");
        assert_eq!(digest(&app, org, "account").await, original);
        let log = app.job_log(&job_id(&held)).await;
        assert!(log.iter().any(|e| e["Action"] == "DeleteGuard"), "{log:?}");
        // While it is held, the connection says so and no second sync starts.
        let connection = app
            .get(&format!("/rest/v1/sync/{org}/connection"))
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        assert_eq!(connection["State"], "Held", "{connection}");
        assert_eq!(connection["HeldJob"], held["JobId"]);
        let again = app
            .post(&format!("/rest/v1/sync/{org}/SyncAsync"))
            .json(&json!({"Full": true}))
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        assert_eq!(again["JobId"], held["JobId"]);
        assert_eq!(again["Status"], "Held");

        let job = app.approve(&held).await;
        assert_eq!(job["Status"], "Completed", "{job}");
        assert_eq!(summary(&job, "account", "Deleted"), 600, "{job}");
        assert_eq!(
            digest(&app, org, "account").await,
            digest(&server, "contoso", "account").await
        );
        let connection = app
            .get(&format!("/rest/v1/sync/{org}/connection"))
            .send()
            .await
            .json();
        assert_eq!(connection["State"], "Connected", "{connection}");
        // Approving it again is refused: it is no longer held.
        app.post(&format!("/rest/v1/jobs/{}/Approve", job_id(&job)))
            .send()
            .await
            .problem(StatusCode::CONFLICT, "job_not_held");
        let kept = quarantine(&app, &job, "&Entity=account").await;
        assert_eq!(kept.len(), 600);
        assert!(kept.iter().all(|k| k["Side"] == "Client"
            && k["Action"] == "Deleted"
            && k["RestoredOn"].is_null()));
        let first = kept.iter().find(|k| k["Id"] == "acc-00000").unwrap();
        assert_eq!(first["Attributes"], original["acc-00000"]);
        assert!(quarantine(&app, &job, "&Entity=contact").await.is_empty());
        approved.insert(org, job);
    }

    // Outbound off: the restored records stay on the client as its own.
    let job = &approved["offline"];
    let undone = undo(&app, job, json!({})).await;
    assert_eq!(undone, json!({"Restored": 600, "Skipped": 0}));
    assert_eq!(digest(&app, "offline", "account").await, original);
    assert_eq!(
        undo(&app, job, json!({})).await,
        json!({"Restored": 0, "Skipped": 0})
    );
    for full in [false, true] {
        let next = app.sync("offline", json!({"Full": full})).await;
        assert_eq!(next["Status"], "Completed", "{next}");
        assert_eq!(summary(&next, "account", "Deleted"), 0, "{next}");
    }
    assert_eq!(digest(&app, "offline", "account").await, original);
    assert_eq!(digest(&server, "contoso", "account").await.len(), 400);

    // Outbound on: one named record first, then the rest; the next sync gives them back to
    // the server.
    let job = &approved["client"];
    let one = undo(&app, job, json!({"Ids": ["acc-00001"]})).await;
    assert_eq!(one, json!({"Restored": 1, "Skipped": 0}));
    let rest = undo(&app, job, json!({})).await;
    assert_eq!(rest, json!({"Restored": 599, "Skipped": 0}));
    assert_eq!(
        undo(&app, job, json!({})).await,
        json!({"Restored": 0, "Skipped": 0})
    );
    assert_eq!(digest(&app, "client", "account").await, original);
    let log = app
        .get(&format!(
            "/rest/v1/jobs/{}/log?RecordId=acc-00001",
            job_id(job)
        ))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let actions: Vec<&Value> = log["Entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["Action"])
        .collect();
    assert_eq!(actions, ["Planned", "Delete", "Restore"], "{log}");
    let kept = quarantine(&app, job, "").await;
    assert!(kept.iter().all(|k| k["RestoredOn"].is_string()));
    let next = app.sync("client", json!({})).await;
    assert_eq!(next["Status"], "Completed", "{next}");
    assert_eq!(summary(&next, "account", "Uploaded"), 600, "{next}");
    assert_eq!(digest(&server, "contoso", "account").await, original);
    assert_eq!(digest(&app, "client", "account").await, original);
}

async fn a_cancelled_hold_deletes_nothing_and_a_dry_run_shows_the_guard(app: TestApp) {
    let (server, url) = seeded_server(40).await;
    app.connect("client", &url, json!({})).await;
    app.sync("client", json!({})).await;
    let original = digest(&app, "client", "account").await;
    server
        .write_batch(
            "contoso",
            (0..20)
                .map(|i| delete("account", &format!("acc-{i:05}")))
                .collect(),
        )
        .await;
    let dry = app.sync("client", json!({"DryRun": true})).await;
    assert_eq!(dry["Status"], "Completed", "{dry}");
    assert_eq!(summary(&dry, "account", "PlannedDeletes"), 20, "{dry}");
    let log = app.job_log(&job_id(&dry)).await;
    assert!(log
        .iter()
        .any(|e| e["Action"] == "DeleteGuard"
            && e["Message"].as_str().unwrap().starts_with("DryRun")));

    let held = app.sync("client", json!({})).await;
    assert_eq!(held["Status"], "Held", "{held}");
    // While it waits, a dry run is a job of its own (the held sync is not handed back for it;
    // the deletes it holds are its own, not the preview's), and asking for the sync again gives
    // the held one.
    let preview = app.sync("client", json!({"DryRun": true})).await;
    assert_ne!(preview["JobId"], held["JobId"]);
    assert_eq!(preview["Status"], "Completed", "{preview}");
    let again = app
        .post("/rest/v1/sync/client/SyncAsync")
        .json(&json!({}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(again["JobId"], held["JobId"]);
    let cancelled = app
        .post(&format!("/rest/v1/jobs/{}/Cancel", job_id(&held)))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(cancelled["Status"], "Cancelled");
    assert_eq!(digest(&app, "client", "account").await, original);
    // A full read finds the same deletes and the guard holds them again; a guard of 60 %
    // lets them through.
    let held = app.sync("client", json!({"Full": true})).await;
    assert_eq!(held["Status"], "Held", "{held}");
    assert_eq!(summary(&held, "account", "PlannedDeletes"), 20, "{held}");
    app.post(&format!("/rest/v1/jobs/{}/Cancel", job_id(&held)))
        .send()
        .await
        .expect(StatusCode::OK);
    let connection = app
        .patch("/rest/v1/sync/client/connection")
        .json(&json!({"DeleteGuard": {"Count": 500, "Percent": 60}}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(
        connection["DeleteGuard"],
        json!({"Count": 500, "Percent": 60})
    );
    let job = app.sync("client", json!({"Full": true})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(summary(&job, "account", "Deleted"), 20, "{job}");
    assert_eq!(
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
}

async fn disconnecting_cancels_a_held_job(app: TestApp) {
    let (server, url) = seeded_server(20).await;
    app.connect("client", &url, json!({})).await;
    app.sync("client", json!({})).await;
    server
        .write_batch(
            "contoso",
            (0..10)
                .map(|i| delete("account", &format!("acc-{i:05}")))
                .collect(),
        )
        .await;
    let held = app.sync("client", json!({})).await;
    assert_eq!(held["Status"], "Held", "{held}");
    app.delete("/rest/v1/sync/client/connection")
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    assert_eq!(app.job(&job_id(&held)).await["Status"], "Cancelled");
    assert_eq!(digest(&app, "client", "account").await.len(), 20);
    // Connected again, a sync is a new job of the new connection, not the old hold.
    app.connect("client", &url, json!({"DeleteGuard": "Off"}))
        .await;
    let job = app.sync("client", json!({"Full": true})).await;
    assert_ne!(job["JobId"], held["JobId"]);
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
}

async fn client_deletes_are_guarded_and_undone_on_the_server(app: TestApp) {
    let (server, url) = seeded_server(20).await;
    let original = digest(&server, "contoso", "account").await;
    app.connect("client", &url, json!({"WriteOffline": true}))
        .await;
    app.sync("client", json!({})).await;
    app.write_batch(
        "client",
        (0..3)
            .map(|i| delete("account", &format!("acc-{i:05}")))
            .collect(),
    )
    .await;
    let held = app.sync("client", json!({})).await;
    assert_eq!(held["Status"], "Held", "{held}");
    assert_eq!(summary(&held, "account", "PlannedDeletes"), 3, "{held}");
    assert_eq!(digest(&server, "contoso", "account").await, original);
    let job = app.approve(&held).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(summary(&job, "account", "Uploaded"), 3, "{job}");
    assert_eq!(digest(&server, "contoso", "account").await.len(), 17);
    let kept = quarantine(&app, &job, "").await;
    assert_eq!(kept.len(), 3);
    assert!(kept.iter().all(|k| k["Side"] == "Server"));
    assert_eq!(kept[0]["Attributes"]["name"], "Account 0");
    let undone = undo(&app, &job, json!({})).await;
    assert_eq!(undone, json!({"Restored": 3, "Skipped": 0}));
    assert_eq!(
        undo(&app, &job, json!({})).await,
        json!({"Restored": 0, "Skipped": 0})
    );
    let restored = digest(&server, "contoso", "account").await;
    assert_eq!(
        restored.keys().collect::<Vec<_>>(),
        original.keys().collect::<Vec<_>>()
    );
    assert_eq!(restored["acc-00001"]["name"], "Account 1");
    // The next sync brings them back to the client.
    let next = app.sync("client", json!({})).await;
    assert_eq!(next["Status"], "Completed", "{next}");
    assert_eq!(digest(&app, "client", "account").await, restored);
    // The metrics count the hold, the records kept and the records restored.
    assert_eq!(app.metric("orgsync_held_jobs_total").await, 1.0);
    assert_eq!(app.metric("orgsync_quarantined_records_total").await, 3.0);
    assert_eq!(app.metric("orgsync_restored_records_total").await, 3.0);
    // The quarantine is kept for the tombstone retention, then purged.
    assert_eq!(quarantine(&app, &job, "").await.len(), 3);
    app.purge_tombstones_now().await;
    assert!(quarantine(&app, &job, "").await.is_empty());
}

async fn outbound_off_and_on_loses_nothing(app: TestApp) {
    let (server, url) = seeded_server(10).await;
    app.connect("client", &url, json!({})).await;
    app.sync("client", json!({})).await;
    set_outbound(&app, "client", false).await;
    app.write_batch(
        "client",
        vec![
            account_op("offline-1", "Written offline", 0),
            account_op("offline-2", "Written offline", 0),
        ],
    )
    .await;
    for full in [false, true, true] {
        let job = app.sync("client", json!({"Full": full})).await;
        assert_eq!(job["Status"], "Completed", "{job}");
        assert_eq!(summary(&job, "account", "Deleted"), 0, "{job}");
    }
    set_outbound(&app, "client", true).await;
    for full in [true, false, true] {
        let job = app.sync("client", json!({"Full": full})).await;
        assert_eq!(job["Status"], "Completed", "{job}");
        assert_eq!(summary(&job, "account", "Deleted"), 0, "{job}");
        if full {
            assert_eq!(summary(&job, "account", "LocalOnly"), 2, "{job}");
        }
    }
    let client = digest(&app, "client", "account").await;
    assert!(client.contains_key("offline-1") && client.contains_key("offline-2"));
    assert_eq!(client.len(), 12);
    assert_eq!(digest(&server, "contoso", "account").await.len(), 10);
}

async fn the_settings_are_checked_and_shown_in_json_and_xml(app: TestApp) {
    let (_server, url) = seeded_server(2).await;
    let xml = format!(
        "<ConnectRequest><SyncSetup><ProviderID>orgsync</ProviderID><Url>{url}</Url>\
         <UserName>{}</UserName><Password>{}</Password>\
         <MatchOn><Entity name=\"account\"><Attribute>name</Attribute><Attribute>emailaddress1</Attribute></Entity></MatchOn>\
         <DeleteGuard>Off</DeleteGuard></SyncSetup></ConnectRequest>",
        crate::testkit::fixtures::SYNC_USER,
        crate::testkit::fixtures::SYNC_PASSWORD
    );
    let accepted = app
        .post("/rest/v1/sync/client/ConnectAsync")
        .xml(&xml)
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let job = app
        .wait_job(
            accepted["JobId"].as_str().unwrap(),
            &["Completed", "Failed"],
            30,
        )
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let connection = app
        .get("/rest/v1/sync/client/connection")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(
        connection["MatchOn"],
        json!({"account": ["name", "emailaddress1"]})
    );
    assert_eq!(connection["DeleteGuard"], "Off");
    let xml = app
        .get("/rest/v1/sync/client/connection")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(xml.contains("<DeleteGuard>Off</DeleteGuard>"), "{xml}");
    // A MatchOn attribute the entity lacks is refused, and nothing changes.
    app.patch("/rest/v1/sync/client/connection")
        .json(&json!({"MatchOn": {"account": ["nosuchattribute"]}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.patch("/rest/v1/sync/client/connection")
        .json(&json!({"DeleteGuard": {"Count": -1}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    // The contract's XML example of a patch.
    let connection = app
        .patch("/rest/v1/sync/client/connection")
        .xml("<ConnectionPatch><MatchOn><Entity name=\"account\"><Attribute>name</Attribute></Entity></MatchOn><DeleteGuard>Off</DeleteGuard></ConnectionPatch>")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(connection["MatchOn"], json!({"account": ["name"]}));
    assert_eq!(connection["DeleteGuard"], "Off");
    // Null goes back to the default: no MatchOn, the guard of 500 or 10 %.
    let connection = app
        .patch("/rest/v1/sync/client/connection")
        .json(&json!({"MatchOn": null, "DeleteGuard": null}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert!(connection["MatchOn"].is_null(), "{connection}");
    assert_eq!(
        connection["DeleteGuard"],
        json!({"Count": 500, "Percent": 10})
    );
    // The job endpoints refuse what is wrong.
    let job_path = format!("/rest/v1/jobs/{}", job["JobId"].as_str().unwrap());
    app.post(&format!("{job_path}/Approve"))
        .send()
        .await
        .problem(StatusCode::CONFLICT, "job_not_held");
    app.get(&format!("{job_path}/quarantine?Cursor=x"))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_cursor");
    app.post("/rest/v1/jobs/no-such-job/UndoDeletes")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "job_not_found");
    let xml = app
        .post(&format!("{job_path}/UndoDeletes"))
        .xml("<UndoDeletes><Ids>acc-00001</Ids></UndoDeletes>")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(xml.contains("<Restored>0</Restored>"), "{xml}");
}

both_backends!(
    existing_records_survive_a_first_connect,
    an_ambiguous_match_merges_nothing,
    the_guard_holds_a_mass_delete_and_undo_brings_it_back,
    a_cancelled_hold_deletes_nothing_and_a_dry_run_shows_the_guard,
    client_deletes_are_guarded_and_undone_on_the_server,
    disconnecting_cancels_a_held_job,
    outbound_off_and_on_loses_nothing,
    the_settings_are_checked_and_shown_in_json_and_xml,
);
