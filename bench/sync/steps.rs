//! The steps every workload is made of: starting a process, seeding the server, connecting the
//! client, a timed sync.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::DateTime;
use serde_json::{json, Value};

use crate::data::{upsert_body, Row};
use crate::options::Options;
use crate::testkit::client::{Client, FINISHED};
use crate::testkit::fixtures::{server_org_with, SERVER_ORG};
use crate::testkit::launch::{Launch, Process};
use crate::CLIENT_ORG;

/// Operations per seeding batch request.
const SEED_CHUNK: usize = 5000;
/// How long the bench waits for one job.
const JOB_PATIENCE_SECS: u64 = 3 * 3600;

/// An `orgsync serve` process of the measured binary on `database_url`, in `dir`, with the
/// bench's settings: jobs polled every 20 ms, warnings only in its log.
pub async fn start(opts: &Options, database_url: &str, dir: &Path, label: &str) -> Process {
    Launch::new(database_url, dir)
        .binary(&opts.binary)
        .label(label)
        .rust_log("warn")
        .set("ORGSYNC_JOB_POLL", "20ms")
        .start()
        .await
}

/// The SQLite URL of a database file in `dir`.
pub fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("orgsync.db").display())
}

/// The server org with the `account` entity and the sync user, then `rows` as its records;
/// gives the org's Url.
pub async fn seed_server(server: &Process, rows: &[Row]) -> String {
    let url = server_org_with(server, &["account"]).await;
    for chunk in rows.chunks(SEED_CHUNK) {
        server.batch(SERVER_ORG, upsert_body(chunk)).await;
    }
    url
}

/// Connects the client org to the server org; with `write_offline`, client writes wait for
/// the next sync as pending transactions instead of being delivered at once.
pub async fn connect(client: &Process, server_url: &str, write_offline: bool) {
    client
        .connect(
            CLIENT_ORG,
            server_url,
            json!({"WriteOffline": write_offline}),
        )
        .await;
}

pub struct SyncRun {
    pub exec: Duration,
    pub wall: Duration,
    pub job: Value,
}

pub async fn sync(client: &Process) -> SyncRun {
    sync_with(client, json!({})).await
}

/// A `SyncAsync` with this body, polled until it ends; it must complete.
pub async fn sync_with(client: &Process, request: Value) -> SyncRun {
    let start = Instant::now();
    let id = client.start_sync(CLIENT_ORG, request).await;
    let job = client.wait_job(&id, FINISHED, JOB_PATIENCE_SECS).await;
    let wall = start.elapsed();
    assert_eq!(job["Status"], "Completed", "sync: {job}");
    SyncRun {
        exec: exec_time(&job),
        wall,
        job,
    }
}

/// The job's execution time: FinishedOn - LastTriedOn (queue wait excluded).
pub fn exec_time(job: &Value) -> Duration {
    let t = |k: &str| {
        DateTime::parse_from_rfc3339(job[k].as_str().unwrap_or_else(|| panic!("{k} in {job}")))
            .unwrap()
    };
    (t("FinishedOn") - t("LastTriedOn")).to_std().unwrap()
}

pub fn summary_count(job: &Value, key: &str) -> i64 {
    job["Summary"]["account"][key].as_i64().unwrap_or(0)
}

/// How many records `org` holds.
pub async fn records(process: &Client, org: &str) -> u64 {
    process.usage_count(org).await as u64
}

/// Sum of the process's request durations (its Prometheus histogram), in seconds.
pub async fn request_seconds(process: &Client) -> f64 {
    process
        .metric("orgsync_http_request_duration_seconds_sum")
        .await
}

/// How many client transactions the process holds with this status (its metrics).
pub async fn transactions(process: &Client, status: &str) -> u64 {
    process
        .metric(&format!("orgsync_transactions{{status=\"{status}\"}}"))
        .await as u64
}
