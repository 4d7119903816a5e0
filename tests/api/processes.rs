//! The real binary in separate processes: killed mid-job, two of them on one queue, jobs whose
//! processes keep dying, and the memory concurrent reads of large records take.

use std::path::Path;
use std::time::Duration;

use orgsync::config::Settings;
use serde_json::{json, Value};

use crate::testkit::client::Client;
use crate::testkit::digest::digest;
use crate::testkit::fixtures::{account_op, delete, server_org, SYNC_PASSWORD, SYNC_USER};
use crate::testkit::launch::{seal_with_process_key, Launch, TestApp};
use crate::testkit::net::{free_port, tarpit};

/// A process on `db_url` with `dir` as its folder: two workers, short leases, quick polls.
fn launch(db_url: &str, dir: &Path) -> Launch {
    Launch::new(db_url, dir)
        .set("ORGSYNC_WORKERS", "2")
        .set("ORGSYNC_JOB_LEASE", "2s")
        .set("ORGSYNC_JOB_POLL", "100ms")
        .set("ORGSYNC_JOB_BACKOFF", "200ms")
        .set("ORGSYNC_PROVIDER_TIMEOUT", "120s")
}

/// The Start entries of a job's log: one per try.
async fn start_entries(client: &Client, id: &str) -> Vec<Value> {
    let log = client.job_log(id).await;
    log.into_iter().filter(|e| e["Action"] == "Start").collect()
}

/// Everything the database holds about connections and jobs, as text.
fn stored_text(observer: &TestApp) -> String {
    use diesel::prelude::*;
    use orgsync::db::schema::{connections, job_log, jobs};
    let mut conn = observer.state.db.get().unwrap();
    let c: Vec<(String, String, String)> = connections::table
        .select((
            connections::url,
            connections::user_name,
            connections::password_enc,
        ))
        .load(&mut *conn)
        .unwrap();
    let j: Vec<(String, Option<String>)> = jobs::table
        .select((jobs::params, jobs::error))
        .load(&mut *conn)
        .unwrap();
    let l: Vec<String> = job_log::table
        .select(job_log::message)
        .load(&mut *conn)
        .unwrap();
    format!("{c:?}{j:?}{l:?}")
}

async fn killed_mid_job_is_taken_over(observer: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let stop_tarpit = tarpit(port);
    let url = format!("http://127.0.0.1:{port}/rest/v1/orgs/contoso");
    let mut first = launch(&observer.db_url, dir.path())
        .label("first")
        .start()
        .await;
    let id = first.connect_async("client-k", &url, json!({})).await;
    // Killed once its try has started (a try is claimed, and counted, before it logs its Start).
    tries_started(&first, &id, 1).await;
    first.kill();

    // The server comes back; a new process takes the job over once its lease lapses.
    stop_tarpit.store(true, std::sync::atomic::Ordering::Relaxed);
    actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    let server = TestApp::sqlite_at(port).await;
    server_org(&server).await;
    let second = launch(&observer.db_url, dir.path())
        .label("second")
        .start()
        .await;
    let job = second.wait_job(&id, &["Completed"], 60).await;
    assert_eq!(job["Tries"], 2, "{job}");
    let starts = start_entries(&second, &id).await;
    assert_eq!(starts.len(), 2, "{starts:?}");

    // The password is nowhere in clear: not in the database, not in either process's log.
    let stored = stored_text(&observer);
    assert!(stored.contains(SYNC_USER), "the check reads the right rows");
    assert!(!stored.contains(SYNC_PASSWORD));
    if let Some(path) = observer.db_url.strip_prefix("sqlite://") {
        for file in [path.to_owned(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(
                !bytes
                    .windows(SYNC_PASSWORD.len())
                    .any(|w| w == SYNC_PASSWORD.as_bytes()),
                "{file} holds the password"
            );
        }
    }
    for log in [first.log(), second.log()] {
        assert!(log.contains("job started"), "the log is being read: {log}");
        assert!(!log.contains(SYNC_PASSWORD));
    }
}

#[actix_web::test]
async fn a_job_of_a_killed_process_is_taken_over_sqlite() {
    killed_mid_job_is_taken_over(TestApp::sqlite_with(|s| s.workers = 0).await).await;
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn a_job_of_a_killed_process_is_taken_over_postgres() {
    let observer = TestApp::postgres_with(|s| s.workers = 0).await;
    killed_mid_job_is_taken_over(observer).await;
}

/// Two processes on one PostgreSQL: every job runs, and runs once.
#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn two_processes_share_one_queue_postgres() {
    let observer = TestApp::postgres_with(|s| s.workers = 0).await;
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let a = launch(&observer.db_url, dir.path())
        .label("a")
        .start()
        .await;
    let b = launch(&observer.db_url, dir.path())
        .label("b")
        .start()
        .await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let via = if i % 2 == 0 { &a } else { &b };
        ids.push(
            via.connect_async(&format!("client-{i}"), &url, json!({}))
                .await,
        );
    }
    for id in &ids {
        let job = a.wait_job(id, &["Completed"], 60).await;
        assert_eq!(job["Tries"], 1, "{job}");
        assert_eq!(
            start_entries(&b, id).await.len(),
            1,
            "job {id} ran more than once"
        );
    }
}

/// A client process killed in the middle of a large sync: after a restart the job finishes
/// and the client equals the server, with nothing missing, stale, extra or doubled.
async fn killed_mid_sync_resumes(observer: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let n = 4000;
    let ops = (0..n)
        .map(|i| account_op(&format!("acc-{i:05}"), &format!("Account {i}"), i % 2))
        .collect();
    server.write_batch("contoso", ops).await;
    let dir = tempfile::tempdir().unwrap();
    let process = launch(&observer.db_url, dir.path()).set("ORGSYNC_SYNC_BATCH", "40");
    let mut first = process.clone().label("first").start().await;
    let connect = first.connect_async("client", &url, json!({})).await;
    first.wait_job(&connect, &["Completed"], 60).await;
    let id = first.start_sync("client", json!({})).await;
    // Kill it once some batches have landed, well before the end. Progress moves as batches
    // land: records done out of the server's count.
    let job = observer.wait_progress(&id, "Download account").await;
    assert!(
        job["Progress"]["Done"].as_i64() < Some(n),
        "the sync finished before it could be interrupted: {job}"
    );
    assert_eq!(job["Progress"]["Total"], n, "{job}");
    first.kill();
    let killed_at = observer.usage_count("client").await;
    // Change the server meanwhile: the resumed sync must bring that too.
    server
        .write_batch(
            "contoso",
            vec![
                account_op("acc-00001", "Changed while down", 0),
                delete("account", "acc-03999"),
            ],
        )
        .await;
    let second = process.label("second").start().await;
    let job = second.wait_job(&id, &["Completed"], 120).await;
    assert_eq!(job["Tries"], 2, "{job}");
    assert!(killed_at < n, "killed mid-way ({killed_at} of {n})");
    assert_eq!(
        digest(&observer, "client", "account").await,
        digest(&server, "contoso", "account").await
    );
    // No record was applied twice: each id was created once in the client's feed.
    let (changes, _) = observer
        .all_changes("client", None, json!({"Entities": ["account"]}))
        .await;
    let ids: std::collections::BTreeSet<&str> =
        changes.iter().map(|c| c["Id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), changes.len());
}

#[actix_web::test]
async fn a_sync_killed_mid_way_resumes_and_ends_equal_sqlite() {
    killed_mid_sync_resumes(TestApp::sqlite_with(|s| s.workers = 0).await).await;
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn a_sync_killed_mid_way_resumes_and_ends_equal_postgres() {
    let observer = TestApp::postgres_with(|s| s.workers = 0).await;
    killed_mid_sync_resumes(observer).await;
}

/// A client process killed during an upload: no transaction lost, none applied twice.
async fn killed_mid_upload_loses_nothing(observer: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let process = launch(&observer.db_url, dir.path()).set("ORGSYNC_SYNC_BATCH", "25");
    let mut first = process.clone().label("first").start().await;
    observer
        .connect("client", &url, json!({"WriteOffline": true}))
        .await;
    let n = 1500;
    let ops = (0..n)
        .map(|i| account_op(&format!("up-{i:05}"), &format!("Up {i}"), 0))
        .collect();
    observer.write_batch("client", ops).await;
    let before = server.get("/rest/v1/orgs/contoso").send().await.json()["Version"]
        .as_i64()
        .unwrap();
    let id = observer
        .post("/rest/v1/sync/client/SyncAsync")
        .send()
        .await
        .json()["JobId"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done = observer
            .get("/rest/v1/sync/client/transactions?Status=Processed&Limit=1000")
            .send()
            .await
            .json()["Transactions"]
            .as_array()
            .unwrap()
            .len();
        if done > 0 {
            assert!(
                done < 1000,
                "the upload finished before it could be interrupted"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing was delivered"
        );
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill();
    let _second = process.label("second").start().await;
    let job = observer
        .wait_job(&id, &["Completed", "CompletedWithErrors", "Failed"], 120)
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(job["Tries"], 2);
    let after = server.get("/rest/v1/orgs/contoso").send().await.json()["Version"]
        .as_i64()
        .unwrap();
    assert_eq!(after - before, n, "each transaction applied exactly once");
    let server_ids = digest(&server, "contoso", "account").await;
    assert_eq!(
        server_ids.keys().filter(|k| k.starts_with("up-")).count() as i64,
        n
    );
    let pending = observer
        .get("/rest/v1/sync/client/transactions?Status=Pending")
        .send()
        .await
        .json();
    assert!(pending["Transactions"].as_array().unwrap().is_empty());
    assert_eq!(digest(&observer, "client", "account").await, server_ids);
}

#[actix_web::test]
async fn an_upload_killed_mid_way_loses_nothing_and_applies_nothing_twice_sqlite() {
    killed_mid_upload_loses_nothing(TestApp::sqlite_with(shared_keys).await).await;
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn an_upload_killed_mid_way_loses_nothing_and_applies_nothing_twice_postgres() {
    let observer = TestApp::postgres_with(shared_keys).await;
    killed_mid_upload_loses_nothing(observer).await;
}

/// An in-process app that runs no jobs and seals credentials with the processes' key.
fn shared_keys(s: &mut Settings) {
    s.workers = 0;
    seal_with_process_key(s);
}

/// Waits until the job is in process with `tries` tries started (each logged its Start).
async fn tries_started(client: &Client, id: &str, tries: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        // The log first: a try is claimed (and counted) before it logs its Start.
        let started = start_entries(client, id).await.len();
        let job = client.job(id).await;
        if job["Status"] == "InProcess" && started == tries {
            assert_eq!(job["Tries"], tries, "{job}");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "try {tries} never started: {job}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A job whose process dies in every try: once its last try's process has died, the next
/// process fails it (`worker_lost`) instead of running a try past `MaxTries`.
async fn dying_processes_never_pass_max_tries(observer: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let stop_tarpit = tarpit(port);
    let url = format!("http://127.0.0.1:{port}/rest/v1/orgs/contoso");
    let process = launch(&observer.db_url, dir.path()).set("ORGSYNC_JOB_MAX_TRIES", "2");
    let mut first = process.clone().label("first").start().await;
    let id = first.connect_async("client", &url, json!({})).await;
    tries_started(&observer, &id, 1).await;
    first.kill();
    // The next process takes it over once the lease lapses, and dies in its last try too.
    let mut second = process.clone().label("second").start().await;
    tries_started(&observer, &id, 2).await;
    second.kill();
    let third = process.label("third").start().await;
    let job = third
        .wait_job(&id, &["Failed", "Completed", "Cancelled"], 60)
        .await;
    assert_eq!(job["Status"], "Failed", "{job}");
    assert_eq!(job["Error"]["Code"], "worker_lost", "{job}");
    assert_eq!(job["Tries"], 2, "{job}");
    assert_eq!(job["MaxTries"], 2, "{job}");
    let starts = start_entries(&third, &id).await;
    assert_eq!(starts.len(), 2, "no third try ran: {starts:?}");
    stop_tarpit.store(true, std::sync::atomic::Ordering::Relaxed);
}

#[actix_web::test]
async fn dying_processes_never_pass_max_tries_sqlite() {
    dying_processes_never_pass_max_tries(TestApp::sqlite_with(|s| s.workers = 0).await).await;
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn dying_processes_never_pass_max_tries_postgres() {
    let observer = TestApp::postgres_with(|s| s.workers = 0).await;
    dying_processes_never_pass_max_tries(observer).await;
}

const MIB: u64 = 1024 * 1024;

/// Reads the whole change feed of `org` page by page as one client does; gives the changes.
async fn read_feed(client: &Client, org: &str) -> usize {
    let mut since: Option<String> = None;
    let mut count = 0;
    loop {
        let mut body = json!({"Limit": 10000});
        if let Some(s) = &since {
            body["Since"] = json!(s);
        }
        let page = client
            .post(&format!("/rest/v1/orgs/{org}/changes"))
            .json(&body)
            .send()
            .await
            .expect(reqwest::StatusCode::OK)
            .json();
        count += page["Changes"].as_array().unwrap().len();
        since = Some(page["Next"].as_str().unwrap().to_owned());
        if !page["More"].as_bool().unwrap() {
            return count;
        }
    }
}

/// Four clients reading a feed of 60 records of 0.9 MiB each at once: the process's peak
/// memory grows by a few pages (of 4 MiB each), not by copies of the whole feed (54 MiB).
async fn concurrent_reads_of_large_records_stay_bounded(observer: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let process = launch(&observer.db_url, dir.path())
        .label("reader")
        .start()
        .await;
    let org = process.crm_org("contoso").await;
    let n = 60;
    for i in 0..n {
        let description = format!("{i:02}").repeat(9 * 1024 * 1024 / 20);
        process
            .create_record(
                &org,
                "account",
                json!({"name": format!("Large {i}"), "description": description}),
            )
            .await;
    }
    let rss_before = process.rss();
    let peak_before = process.peak_rss();
    let readers = (0..4).map(|_| read_feed(&process, &org));
    let counts = futures_util::future::join_all(readers).await;
    assert_eq!(counts, vec![n; 4], "every reader read every record");
    let peak_after = process.peak_rss();
    let growth = peak_after.saturating_sub(rss_before);
    eprintln!(
        "reads of {n} records of 0.9 MiB by 4 clients at once: RSS before {} MiB, peak before {} MiB, \
         peak after {} MiB, growth {} MiB",
        rss_before / MIB,
        peak_before / MIB,
        peak_after / MIB,
        growth / MIB
    );
    assert!(
        growth < 150 * MIB,
        "the peak grew by {} MiB (from {} MiB to {} MiB)",
        growth / MIB,
        rss_before / MIB,
        peak_after / MIB
    );
}

#[actix_web::test]
async fn concurrent_reads_of_large_records_stay_bounded_sqlite() {
    concurrent_reads_of_large_records_stay_bounded(TestApp::sqlite_with(|s| s.workers = 0).await)
        .await;
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn concurrent_reads_of_large_records_stay_bounded_postgres() {
    let observer = TestApp::postgres_with(|s| s.workers = 0).await;
    concurrent_reads_of_large_records_stay_bounded(observer).await;
}

/// A process killed while a job waits `Held`, and another killed in the middle of
/// `UndoDeletes`: nothing is lost, nothing is deleted before the approval, and nothing is
/// restored twice.
async fn killed_while_held_and_while_undoing(observer: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let n = 2000;
    let ops = (0..n)
        .map(|i| account_op(&format!("acc-{i:05}"), &format!("Account {i}"), 0))
        .collect();
    server.write_batch("contoso", ops).await;
    let original = digest(&server, "contoso", "account").await;
    let dir = tempfile::tempdir().unwrap();
    let process = launch(&observer.db_url, dir.path()).set("ORGSYNC_SYNC_BATCH", "20");
    let mut first = process.clone().label("first").start().await;
    observer.connect("client", &url, json!({})).await;
    let job = observer.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    let gone: Vec<Value> = (0..n)
        .filter(|i| i % 4 != 0)
        .map(|i| delete("account", &format!("acc-{i:05}")))
        .collect();
    let deleted = gone.len();
    server.write_batch("contoso", gone).await;
    let held = observer.sync("client", json!({})).await;
    assert_eq!(held["Status"], "Held", "{held}");
    let id = held["JobId"].as_str().unwrap().to_owned();

    // Killed while the job waits: it still waits, and the client still holds everything.
    first.kill();
    let mut second = process.clone().label("second").start().await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(observer.job(&id).await["Status"], "Held");
    assert_eq!(digest(&observer, "client", "account").await, original);
    let job = second.approve(&held).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(job["Summary"]["account"]["Deleted"], deleted, "{job}");
    assert_eq!(
        digest(&observer, "client", "account").await,
        digest(&server, "contoso", "account").await
    );

    // Killed in the middle of UndoDeletes (batches of 20): some batches landed, not all.
    let undo = format!("/rest/v1/jobs/{id}/UndoDeletes");
    let request = second.post(&undo).json(&json!({}));
    actix_web::rt::spawn(async move {
        let _ = request.try_send().await;
    });
    let kept = (n - deleted) as i64;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let count = observer.usage_count("client").await;
        if count > kept {
            assert!(
                count < n as i64,
                "UndoDeletes finished before it could be interrupted"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "nothing was restored");
        actix_web::rt::time::sleep(Duration::from_millis(2)).await;
    }
    second.kill();
    let third = process.label("third").start().await;
    let rest = third
        .post(&undo)
        .send()
        .await
        .expect(reqwest::StatusCode::OK)
        .json();
    let restored_before = deleted as i64 - rest["Restored"].as_i64().unwrap();
    assert!(restored_before > 0, "{rest}");
    assert_eq!(rest["Skipped"], 0, "{rest}");
    assert_eq!(digest(&observer, "client", "account").await, original);
    // Each record was restored once: one Restore line and one transaction each.
    let mut restores = 0;
    let mut cursor = String::new();
    loop {
        let page = observer
            .get(&format!("/rest/v1/jobs/{id}/log?Limit=1000{cursor}"))
            .send()
            .await
            .json();
        let entries = page["Entries"].as_array().unwrap();
        restores += entries.iter().filter(|e| e["Action"] == "Restore").count();
        match page["Next"].as_str() {
            Some(next) => cursor = format!("&Cursor={next}"),
            None => break,
        }
    }
    assert_eq!(restores, deleted);
    let job = observer.sync("client", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(job["Summary"]["account"]["Uploaded"], deleted, "{job}");
    assert_eq!(digest(&server, "contoso", "account").await, original);
}

#[actix_web::test]
async fn killed_while_held_and_while_undoing_loses_nothing_sqlite() {
    killed_while_held_and_while_undoing(TestApp::sqlite_with(shared_keys).await).await;
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn killed_while_held_and_while_undoing_loses_nothing_postgres() {
    let observer = TestApp::postgres_with(shared_keys).await;
    killed_while_held_and_while_undoing(observer).await;
}

/// A process killed in the middle of a 50k-record Send snapshot: after a restart the job ends,
/// the server equals the client, and every record was applied once (the server's version moved
/// by exactly one per record).
async fn killed_mid_send_applies_each_record_once(observer: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let n: i64 = 50_000;
    // The client's own records, there before it connects.
    observer.crm_org("client").await;
    for start in (0..n).step_by(1000) {
        let ops = (start..start + 1000)
            .map(|i| account_op(&format!("mine-{i:05}"), &format!("Mine {i}"), 0))
            .collect();
        observer.write_batch("client", ops).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let process = launch(&observer.db_url, dir.path()).set("ORGSYNC_SYNC_BATCH", "500");
    let mut first = process.clone().label("first").start().await;
    let connect = first.connect_async("client", &url, json!({})).await;
    first.wait_job(&connect, &["Completed"], 60).await;
    let version = || {
        let server = &server;
        async move {
            server.get("/rest/v1/orgs/contoso").send().await.json()["Version"]
                .as_i64()
                .unwrap()
        }
    };
    let before = version().await;
    let accepted = first
        .post("/rest/v1/sync/client/snapshots")
        .json(&json!({"Direction": "Send"}))
        .send()
        .await
        .expect(reqwest::StatusCode::ACCEPTED)
        .json();
    let id = accepted["JobId"].as_str().unwrap().to_owned();
    // Killed once some batches have landed on the server, well before the end.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let applied = version().await - before;
        if applied > 0 {
            assert!(
                applied < n,
                "the Send finished before it could be interrupted"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no batch landed");
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill();
    let second = process.label("second").start().await;
    let job = second.wait_job(&id, &["Completed", "Failed"], 300).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(job["Tries"], 2, "{job}");
    assert_eq!(
        version().await - before,
        n,
        "each record applied exactly once"
    );
    let on_server = digest(&server, "contoso", "account").await;
    assert_eq!(on_server.len() as i64, n);
    assert_eq!(on_server, digest(&observer, "client", "account").await);
    // And nothing of it comes back to the client.
    let sync = second.sync("client", json!({})).await;
    assert_eq!(sync["Status"], "Completed", "{sync}");
    for key in ["Created", "Updated", "Deleted"] {
        assert_eq!(sync["Summary"]["account"][key], 0, "{key}: {sync}");
    }
}

#[actix_web::test]
async fn a_send_killed_mid_way_applies_each_record_once_sqlite() {
    killed_mid_send_applies_each_record_once(TestApp::sqlite_with(shared_keys).await).await;
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn a_send_killed_mid_way_applies_each_record_once_postgres() {
    let observer = TestApp::postgres_with(shared_keys).await;
    killed_mid_send_applies_each_record_once(observer).await;
}
