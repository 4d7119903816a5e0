//! Snapshots (NexJ's Get and Send): a Get makes the client equal to the server, a Send the
//! server equal to the client, whatever either side changed; filtered by date (tasks), by
//! recurrence (appointments), per link; through the delete guard and the quarantine; and the
//! Outbound switched on again that waits for a Send. Two real instances, on both backends.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::client::Client;
use crate::testkit::digest::digest;
use crate::testkit::fixtures::{
    account_op, appointment_definition, delete, server_org, server_org_with, task_definition,
    upsert,
};
use crate::testkit::launch::TestApp;
use crate::testkit::net::{Proxy, ProxyMode};

fn summary(job: &Value, entity: &str, key: &str) -> i64 {
    job["Summary"][entity][key].as_i64().unwrap_or(0)
}

fn job_id(job: &Value) -> String {
    job["JobId"].as_str().unwrap().to_owned()
}

async fn quarantine(app: &Client, job: &Value) -> Vec<Value> {
    let page = app
        .get(&format!(
            "/rest/v1/jobs/{}/quarantine?Limit=1000",
            job_id(job)
        ))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    page["Items"].as_array().unwrap().clone()
}

fn ids_of(items: &[Value], side: &str, action: &str) -> Vec<String> {
    let mut ids: Vec<String> = items
        .iter()
        .filter(|i| i["Side"] == side && i["Action"] == action)
        .map(|i| i["Id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn transactions(app: &Client, org: &str, status: &str) -> Vec<Value> {
    app.get(&format!(
        "/rest/v1/sync/{org}/transactions?Status={status}&Limit=1000"
    ))
    .send()
    .await
    .expect(StatusCode::OK)
    .json()["Transactions"]
        .as_array()
        .unwrap()
        .clone()
}

/// The ids of the records a job's log says it wrote or deleted (on either side).
async fn touched(app: &Client, job: &Value) -> Vec<String> {
    let mut ids: Vec<String> = app
        .job_log(&job_id(job))
        .await
        .iter()
        .filter(|e| ["Create", "Update", "Delete"].contains(&e["Action"].as_str().unwrap_or("")))
        .map(|e| e["RecordId"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// A server with twenty accounts, and a client connected offline and synced with it; a
/// client record `pre-1` of its own was there before it connected.
async fn connected(app: &TestApp) -> TestApp {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let ops = (0..20)
        .map(|i| account_op(&format!("acc-{i:02}"), &format!("Account {i}"), 0))
        .collect();
    server.write_batch("contoso", ops).await;
    app.crm_org("client").await;
    app.write_batch(
        "client",
        vec![upsert("account", "pre-1").attr("name", "Mine").build()],
    )
    .await;
    // Twenty records: the default guard (10 %) would hold the Get's three deletes.
    let guard = json!({"Count": 10, "Percent": 50});
    app.connect(
        "client",
        &url,
        json!({"WriteOffline": true, "DeleteGuard": guard}),
    )
    .await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    server
}

/// Both sides change: the client creates, updates and deletes (undelivered, offline), and so
/// does the server.
async fn diverge(app: &TestApp, server: &TestApp) {
    app.write_batch(
        "client",
        vec![
            upsert("account", "c-new")
                .attr("name", "Client made")
                .build(),
            upsert("account", "acc-01")
                .attr("name", "Client changed")
                .build(),
            delete("account", "acc-02"),
        ],
    )
    .await;
    server
        .write_batch(
            "contoso",
            vec![
                account_op("s-new", "Server made", 0),
                account_op("acc-03", "Server changed", 1),
                delete("account", "acc-04"),
            ],
        )
        .await;
}

async fn a_get_makes_the_client_equal_to_the_server(app: TestApp) {
    let server = connected(&app).await;
    diverge(&app, &server).await;
    let job = app
        .snapshot(
            "client",
            json!({"Direction": "Get", "Entities": ["account"]}),
        )
        .await;
    assert_eq!(job["Kind"], "GetSnapshot", "{job}");
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(job["Request"]["Entities"], json!(["account"]), "{job}");
    assert_eq!(
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
    // What it removed (local-only pre-1 included) and what it overwrote are kept.
    let kept = quarantine(&app, &job).await;
    assert_eq!(
        ids_of(&kept, "Client", "Deleted"),
        ["acc-04", "c-new", "pre-1"],
        "{kept:?}"
    );
    assert!(ids_of(&kept, "Client", "Overwritten").contains(&"acc-01".to_owned()));
    let overwritten = kept.iter().find(|i| i["Id"] == "acc-01").unwrap();
    assert_eq!(overwritten["Attributes"]["name"], "Client changed");
    // The client's undelivered changes are set aside, never delivered.
    assert!(transactions(&app, "client", "Pending").await.is_empty());
    let archived = transactions(&app, "client", "Archived").await;
    let mut records: Vec<&str> = archived
        .iter()
        .map(|t| {
            assert_eq!(t["Resolution"], "OverriddenBySnapshot", "{t}");
            t["RecordId"].as_str().unwrap()
        })
        .collect();
    records.sort_unstable();
    assert_eq!(records, ["acc-01", "acc-02", "c-new"]);
    // The next sync has nothing to do.
    let next = app.sync("client", json!({})).await;
    for key in ["Created", "Updated", "Deleted", "Uploaded"] {
        assert_eq!(summary(&next, "account", key), 0, "{key}: {next}");
    }
    // The snapshot is in the org's list of snapshots.
    let list = app
        .get("/rest/v1/sync/client/snapshots")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(list["Jobs"][0]["JobId"], job["JobId"], "{list}");
    assert_eq!(list["Jobs"].as_array().unwrap().len(), 1);
    // UndoDeletes puts the client's deleted records back.
    let undone = app
        .post(&format!("/rest/v1/jobs/{}/UndoDeletes", job_id(&job)))
        .json(&json!({"Ids": ["pre-1"]}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(undone["Restored"], 1, "{undone}");
    assert_eq!(
        digest(&app, "client", "account").await["pre-1"]["name"],
        "Mine"
    );
}

async fn a_send_makes_the_server_equal_to_the_client(app: TestApp) {
    let server = connected(&app).await;
    diverge(&app, &server).await;
    let before = digest(&server, "contoso", "account").await;
    let job = app.snapshot("client", json!({"Direction": "Send"})).await;
    assert_eq!(job["Kind"], "SendSnapshot", "{job}");
    assert_eq!(job["Status"], "Completed", "{job}");
    let client = digest(&app, "client", "account").await;
    assert_eq!(digest(&server, "contoso", "account").await, client);
    // pre-1, c-new and acc-04 (deleted on the server) were created there; acc-01 and acc-03
    // overwritten; acc-02 (deleted on the client) and s-new (never on the client) deleted.
    assert_eq!(summary(&job, "account", "Created"), 3, "{job}");
    assert_eq!(summary(&job, "account", "Updated"), 2, "{job}");
    assert_eq!(summary(&job, "account", "Deleted"), 2, "{job}");
    let kept = quarantine(&app, &job).await;
    assert_eq!(
        ids_of(&kept, "Server", "Deleted"),
        ["acc-02", "s-new"],
        "{kept:?}"
    );
    assert_eq!(
        ids_of(&kept, "Server", "Overwritten"),
        ["acc-01", "acc-03"],
        "{kept:?}"
    );
    let prior = kept.iter().find(|i| i["Id"] == "acc-03").unwrap();
    assert_eq!(prior["Attributes"]["name"], before["acc-03"]["name"]);
    // The client's transactions went with the snapshot.
    assert!(transactions(&app, "client", "Pending").await.is_empty());
    let processed = transactions(&app, "client", "Processed").await;
    assert!(!processed.is_empty());
    assert!(
        processed
            .iter()
            .all(|t| t["Resolution"] == "SentBySnapshot"),
        "{processed:?}"
    );
    // No echo: the next sync downloads none of the Send's own writes.
    let next = app.sync("client", json!({})).await;
    assert_eq!(next["Status"], "Completed", "{next}");
    for key in ["Created", "Updated", "Deleted", "Uploaded"] {
        assert_eq!(summary(&next, "account", key), 0, "{key}: {next}");
    }
    assert_eq!(digest(&app, "client", "account").await, client);
    // A Send already queued or running is returned instead of a second one.
    let first = app
        .post("/rest/v1/sync/client/snapshots")
        .json(&json!({"Direction": "Send", "DryRun": true}))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let again = app
        .post("/rest/v1/sync/client/snapshots")
        .json(&json!({"Direction": "Get"}))
        .send()
        .await;
    if again.status == StatusCode::OK {
        assert_eq!(again.json()["JobId"], first["JobId"]);
    } else {
        // The first ended in between.
        assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.text());
    }
}

async fn a_dry_run_counts_and_writes_nothing(app: TestApp) {
    let server = connected(&app).await;
    diverge(&app, &server).await;
    let (client, on_server) = (
        digest(&app, "client", "account").await,
        digest(&server, "contoso", "account").await,
    );
    let get = app
        .snapshot("client", json!({"Direction": "Get", "DryRun": true}))
        .await;
    assert_eq!(get["Status"], "Completed", "{get}");
    // On the client: s-new and acc-02 (deleted there) created, acc-01 and acc-03
    // overwritten, c-new, pre-1 and acc-04 (deleted on the server) deleted.
    assert_eq!(summary(&get, "account", "Created"), 2, "{get}");
    assert_eq!(summary(&get, "account", "Updated"), 2, "{get}");
    assert_eq!(summary(&get, "account", "Deleted"), 3, "{get}");
    let mut first = get["Summary"]["account"]["FirstIds"]["Delete"]
        .as_array()
        .unwrap()
        .clone();
    first.sort_by_key(|v| v.as_str().unwrap().to_owned());
    assert_eq!(first, [json!("acc-04"), json!("c-new"), json!("pre-1")]);
    let send = app
        .snapshot("client", json!({"Direction": "Send", "DryRun": true}))
        .await;
    assert_eq!(summary(&send, "account", "Created"), 3, "{send}");
    assert_eq!(summary(&send, "account", "Updated"), 2, "{send}");
    assert_eq!(summary(&send, "account", "Deleted"), 2, "{send}");
    assert_eq!(digest(&app, "client", "account").await, client);
    assert_eq!(digest(&server, "contoso", "account").await, on_server);
    assert_eq!(transactions(&app, "client", "Pending").await.len(), 3);
}

/// A server org with `entity` only, holding `ops`, and a client connected offline and synced.
async fn connected_with(
    app: &TestApp,
    entity: &str,
    definition: Value,
    ops: Vec<Value>,
) -> TestApp {
    let server = TestApp::sqlite().await;
    let url = server_org_with(&server, &[]).await;
    server.entity("contoso", entity, definition).await;
    server.write_batch("contoso", ops).await;
    // Links this small would hold on their first delete under the default guard (10 %).
    let guard = json!({"Count": 10, "Percent": 50});
    app.connect(
        "client",
        &url,
        json!({"WriteOffline": true, "DeleteGuard": guard}),
    )
    .await;
    let job = app.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    server
}

fn task(id: &str, subject: &str, end: Option<&str>) -> Value {
    upsert("task", id)
        .attr("subject", subject)
        .attr("scheduledend", end.map_or(Value::Null, |e| json!(e)))
        .build()
}

async fn a_filtered_get_touches_only_what_the_filter_takes(app: TestApp) {
    let server = connected_with(
        &app,
        "task",
        task_definition(),
        vec![
            task("t-in", "In", Some("2026-02-10T09:00:00Z")),
            task("t-edge", "Edge", Some("2026-03-31T23:59:59Z")),
            task("t-out", "Out", Some("2026-05-01T09:00:00Z")),
            task("t-undated", "Undated", None),
        ],
    )
    .await;
    // The client changes every one and makes two of its own, one in the range.
    let mut ops: Vec<Value> = ["t-in", "t-edge", "t-out", "t-undated"]
        .iter()
        .map(|id| upsert("task", id).attr("subject", "client's").build())
        .collect();
    ops.push(task("c-in", "Client in", Some("2026-01-15T00:00:00Z")));
    ops.push(task("c-out", "Client out", Some("2025-12-31T23:59:59Z")));
    app.write_batch("client", ops).await;
    let filter = json!({"task": {"DateOption": "scheduledend", "From": "2026-01-01T00:00:00Z",
        "To": "2026-03-31T23:59:59Z", "IncludeUndated": true}});
    let job = app
        .snapshot(
            "client",
            json!({"Direction": "Get", "Entities": ["task"], "Filters": filter}),
        )
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        touched(&app, &job).await,
        ["c-in", "t-edge", "t-in", "t-undated"]
    );
    let client = digest(&app, "client", "task").await;
    let on_server = digest(&server, "contoso", "task").await;
    for id in ["t-in", "t-edge", "t-undated"] {
        assert_eq!(client[id], on_server[id], "{id}");
    }
    assert!(!client.contains_key("c-in"));
    assert_eq!(client["t-out"]["subject"], "client's");
    assert_eq!(client["c-out"]["subject"], "Client out");
    // The untouched records' changes still wait to be delivered.
    let mut pending: Vec<String> = transactions(&app, "client", "Pending")
        .await
        .iter()
        .map(|t| t["RecordId"].as_str().unwrap().to_owned())
        .collect();
    pending.sort();
    assert_eq!(pending, ["c-out", "t-out"]);
}

fn appointment(id: &str, start: &str, recurring: bool, end: Option<&str>) -> Value {
    upsert("appointment", id)
        .attr("subject", id)
        .attr("scheduledstart", start)
        .attr("isrecurring", recurring)
        .attr("recurrenceend", end.map_or(Value::Null, |e| json!(e)))
        .build()
}

async fn a_recurrence_filter_takes_overlapping_series(app: TestApp) {
    let server = connected_with(
        &app,
        "appointment",
        appointment_definition(),
        vec![
            // A weekly series from January to June overlaps March.
            appointment("a-series", "2026-01-05T09:00:00Z", true, Some("2026-06-30")),
            // A series that ended in February does not.
            appointment("a-ended", "2026-01-05T09:00:00Z", true, Some("2026-02-27")),
            // Single appointments: not recurring, whatever their date.
            appointment("a-single-in", "2026-03-10T09:00:00Z", false, None),
            appointment("a-single-out", "2026-05-10T09:00:00Z", false, None),
        ],
    )
    .await;
    let ops = ["a-series", "a-ended", "a-single-in", "a-single-out"]
        .iter()
        .map(|id| {
            upsert("appointment", id)
                .attr("subject", "moved on the client")
                .build()
        })
        .collect();
    app.write_batch("client", ops).await;
    let request = json!({"Direction": "Get", "Entities": ["appointment"], "Filters": {"appointment": {
        "DateOption": "scheduledstart", "From": "2026-03-01", "To": "2026-03-31",
        "Recurrence": {"Include": "Recurring", "RecurringAttribute": "isrecurring",
                       "RecurrenceEndAttribute": "recurrenceend"}}}});
    let job = app.snapshot("client", request).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(touched(&app, &job).await, ["a-series"]);
    let client = digest(&app, "client", "appointment").await;
    assert_eq!(
        client["a-series"],
        digest(&server, "contoso", "appointment").await["a-series"]
    );
    for id in ["a-ended", "a-single-in", "a-single-out"] {
        assert_eq!(client[id]["subject"], "moved on the client", "{id}");
    }
    // Saved on the link, the filter serves the next snapshot without one in the request.
    let link = app
        .patch("/rest/v1/sync/client/links/appointment")
        .json(
            &json!({"SnapshotFilter": {"DateOption": "scheduledstart", "From": "2026-05-01",
            "Recurrence": {"Include": "NonRecurring"}}}),
        )
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(
        link["SnapshotFilter"]["DateOption"], "scheduledstart",
        "{link}"
    );
    let job = app
        .snapshot(
            "client",
            json!({"Direction": "Get", "Entities": ["appointment"]}),
        )
        .await;
    assert_eq!(touched(&app, &job).await, ["a-single-out"]);
}

async fn a_bad_snapshot_request_is_refused_naming_what_is_wrong(app: TestApp) {
    let _server = connected_with(&app, "task", task_definition(), Vec::new()).await;
    let refuse = |body: Value, code: &'static str| {
        let app = &app;
        async move {
            app.post("/rest/v1/sync/client/snapshots")
                .json(&body)
                .send()
                .await
                .problem(StatusCode::UNPROCESSABLE_ENTITY, code)
        }
    };
    let p = refuse(
        json!({"Direction": "Get", "Filters": {"task": {"DateOption": "nosuch"}}}),
        "invalid_snapshot_filter",
    )
    .await;
    assert_eq!(
        (p["entity"].as_str(), p["attribute"].as_str()),
        (Some("task"), Some("nosuch")),
        "{p}"
    );
    let p = refuse(
        json!({"Direction": "Get", "Filters": {"task": {"DateOption": "subject"}}}),
        "invalid_snapshot_filter",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("String"), "{p}");
    let p = refuse(
        json!({"Direction": "Send", "Filters": {"task": {"DateOption": "ModifiedOn",
            "From": "2026-02-01", "To": "2026-01-01"}}}),
        "invalid_snapshot_filter",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("before"), "{p}");
    refuse(
        json!({"Direction": "Get", "Entities": ["nosuch"]}),
        "link_not_found",
    )
    .await;
    app.patch("/rest/v1/sync/client/links/task")
        .json(&json!({"Inbound": false}))
        .send()
        .await
        .expect(StatusCode::OK);
    let p = refuse(
        json!({"Direction": "Get", "Entities": ["task"]}),
        "link_direction_off",
    )
    .await;
    assert_eq!(p["entity"], "task", "{p}");
    refuse(json!({"Direction": "Get"}), "nothing_to_snapshot").await;
    // In XML too, and nothing is queued by a refused request.
    app.post("/rest/v1/sync/client/snapshots")
        .xml("<SnapshotRequest><Direction>Sideways</Direction></SnapshotRequest>")
        .send()
        .await
        .expect(StatusCode::UNPROCESSABLE_ENTITY);
    let list = app
        .get("/rest/v1/sync/client/snapshots")
        .send()
        .await
        .json();
    assert!(list["Jobs"].as_array().unwrap().is_empty(), "{list}");
    // A good XML request is taken.
    let accepted = app
        .post("/rest/v1/sync/client/snapshots")
        .xml("<SnapshotRequest><Direction>Send</Direction><Entities><Entity>task</Entity></Entities>\
              <Filters><Entity name=\"task\"><DateOption>scheduledend</DateOption><From>2026-01-01</From>\
              <IncludeUndated>true</IncludeUndated></Entity></Filters><DryRun>true</DryRun></SnapshotRequest>")
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let job = app
        .wait_job(accepted["JobId"].as_str().unwrap(), &["Completed"], 30)
        .await;
    assert_eq!(job["Kind"], "SendSnapshot");
}

async fn a_per_link_snapshot_leaves_the_other_links_alone(app: TestApp) {
    let server = connected(&app).await;
    server
        .write_batch(
            "contoso",
            vec![upsert("contact", "ct-1").attr("fullname", "Server").build()],
        )
        .await;
    app.sync("client", json!({})).await;
    app.write_batch(
        "client",
        vec![
            upsert("contact", "ct-1").attr("fullname", "Client").build(),
            upsert("account", "acc-05").attr("name", "Client").build(),
        ],
    )
    .await;
    let job = app
        .snapshot(
            "client",
            json!({"Direction": "Get", "Entities": ["account"]}),
        )
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert!(job["Summary"].get("contact").is_none(), "{job}");
    assert_eq!(
        digest(&app, "client", "contact").await["ct-1"]["fullname"],
        "Client"
    );
    let pending = transactions(&app, "client", "Pending").await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0]["RecordId"], "ct-1");
    assert_eq!(
        digest(&app, "client", "account").await["acc-05"]["name"],
        "Account 5"
    );
}

async fn outbound_switched_on_again_waits_for_a_send(app: TestApp) {
    let server = TestApp::sqlite().await;
    let proxy = Proxy::start(server.base());
    server_org(&server).await;
    let ops = (0..60)
        .map(|i| account_op(&format!("acc-{i:02}"), &format!("Account {i}"), 0))
        .collect();
    server.write_batch("contoso", ops).await;
    app.connect("client", &proxy.org_url("contoso"), json!({}))
        .await;
    app.sync("client", json!({})).await;
    let link = |outbound: bool| json!({"Outbound": outbound});
    app.patch("/rest/v1/sync/client/links/account")
        .json(&link(false))
        .send()
        .await
        .expect(StatusCode::OK);
    // Written while Outbound is off: never captured.
    app.write_batch(
        "client",
        vec![upsert("account", "acc-01")
            .attr("name", "While off")
            .build()],
    )
    .await;
    let on = app
        .patch("/rest/v1/sync/client/links/account")
        .json(&link(true))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(on["OutboundState"], "AwaitingSendSnapshot", "{on}");
    let connection = app
        .get("/rest/v1/sync/client/connection")
        .send()
        .await
        .json();
    let shown = connection["Links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["Entity"] == "account")
        .unwrap();
    assert_eq!(shown["OutboundState"], "AwaitingSendSnapshot");
    // Still not captured, and the sync does not upload the link, saying so.
    app.write_batch(
        "client",
        vec![upsert("account", "acc-02")
            .attr("name", "While waiting")
            .build()],
    )
    .await;
    assert!(transactions(&app, "client", "Pending").await.is_empty());
    let job = app.sync("client", json!({})).await;
    let log = app.job_log(&job_id(&job)).await;
    assert!(
        log.iter()
            .any(|e| e["Action"] == "AwaitingSendSnapshot" && e["Entity"] == "account"),
        "{log:?}"
    );
    let on_server = digest(&server, "contoso", "account").await;
    assert_eq!(on_server["acc-01"]["name"], "Account 1");
    // Every write to the server org moves its version by one.
    let writes = || {
        let server = &server;
        async move {
            server.get("/rest/v1/orgs/contoso").send().await.json()["Version"]
                .as_i64()
                .unwrap()
        }
    };
    let before = writes().await;
    // A slow server: the Send takes long enough to be written to while it runs.
    proxy.set(ProxyMode::Slow);
    let accepted = app
        .post("/rest/v1/sync/client/snapshots")
        .json(&json!({"Direction": "Send", "Entities": ["account"]}))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let id = accepted["JobId"].as_str().unwrap().to_owned();
    app.wait_job(&id, &["InProcess"], 30).await;
    app.write_batch(
        "client",
        vec![upsert("account", "acc-30")
            .attr("name", "During the Send")
            .build()],
    )
    .await;
    let job = app
        .wait_job(&id, &["Completed", "CompletedWithErrors", "Failed"], 120)
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
    proxy.set(ProxyMode::Forward);
    let after = app.get("/rest/v1/sync/client/links").send().await.json();
    assert_eq!(after["Links"][0]["OutboundState"], "On", "{after}");
    // The write made during the Send reaches the server exactly once: by the Send or by the
    // next sync, never both.
    app.sync("client", json!({})).await;
    let on_server = digest(&server, "contoso", "account").await;
    assert_eq!(on_server["acc-01"]["name"], "While off");
    assert_eq!(on_server["acc-02"]["name"], "While waiting");
    assert_eq!(on_server["acc-30"]["name"], "During the Send");
    assert_eq!(
        writes().await - before,
        3,
        "acc-01, acc-02 and acc-30, once each"
    );
    // And a write from now on is captured and delivered.
    app.write_batch(
        "client",
        vec![upsert("account", "acc-40").attr("name", "After").build()],
    )
    .await;
    assert_eq!(
        digest(&server, "contoso", "account").await["acc-40"]["name"],
        "After"
    );
}

async fn a_send_that_would_wipe_the_server_is_held(app: TestApp) {
    let server = connected(&app).await;
    // The client deletes eighteen of the server's twenty accounts.
    let ops = (2..20)
        .map(|i| delete("account", &format!("acc-{i:02}")))
        .collect();
    app.write_batch("client", ops).await;
    let job = app.snapshot("client", json!({"Direction": "Send"})).await;
    assert_eq!(job["Status"], "Held", "{job}");
    assert_eq!(summary(&job, "account", "PlannedDeletes"), 18, "{job}");
    // It created pre-1 there, and deleted nothing.
    assert_eq!(digest(&server, "contoso", "account").await.len(), 21);
    let connection = app
        .get("/rest/v1/sync/client/connection")
        .send()
        .await
        .json();
    assert_eq!(connection["HeldJob"], job["JobId"], "{connection}");
    let done = app.approve(&job).await;
    assert_eq!(done["Status"], "Completed", "{done}");
    let on_server = digest(&server, "contoso", "account").await;
    assert_eq!(on_server, digest(&app, "client", "account").await);
    assert_eq!(on_server.len(), 3, "acc-00, acc-01 and pre-1");
    let kept = quarantine(&app, &done).await;
    assert_eq!(ids_of(&kept, "Server", "Deleted").len(), 18, "{kept:?}");
    // UndoDeletes puts them back on the server.
    let undone = app
        .post(&format!("/rest/v1/jobs/{}/UndoDeletes", job_id(&done)))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(undone["Restored"], 18, "{undone}");
    let restored = digest(&server, "contoso", "account").await;
    assert_eq!(restored.len(), 21);
    assert_eq!(restored["acc-07"]["name"], "Account 7");
}

both_backends!(
    a_get_makes_the_client_equal_to_the_server,
    a_send_makes_the_server_equal_to_the_client,
    a_dry_run_counts_and_writes_nothing,
    a_filtered_get_touches_only_what_the_filter_takes,
    a_recurrence_filter_takes_overlapping_series,
    a_bad_snapshot_request_is_refused_naming_what_is_wrong,
    a_per_link_snapshot_leaves_the_other_links_alone,
    outbound_switched_on_again_waits_for_a_send,
    a_send_that_would_wipe_the_server_is_held,
);
