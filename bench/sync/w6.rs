//! W6: a Get snapshot and a Send snapshot of N records, each against W1's rate in the same
//! run. The Get fills a second client org from the server (as W1's first sync does); the Send
//! empties nothing and fills a fresh server org from a client org holding the N records.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::data::{upsert_body, Row};
use crate::options::Options;
use crate::report::rate;
use crate::steps::{
    exec_time, records, request_seconds, seed_server, sqlite_url, start, summary_count,
};
use crate::testkit::client::FINISHED;
use crate::testkit::fixtures::SERVER_ORG;
use crate::testkit::launch::Process;

/// Orgs of the client process that W6 fills.
const GET_ORG: &str = "client-get";
const SEND_ORG: &str = "client-send";
/// Operations per batch request writing the Send's records on the client.
const CHUNK: usize = 5000;

pub struct W6 {
    pub get: Duration,
    pub send: Duration,
}

/// A snapshot of `org`, polled until it ends; it must complete; gives its execution time.
async fn snapshot(client: &Process, org: &str, direction: &str, n: usize) -> Duration {
    let accepted = client
        .post(&format!("/rest/v1/sync/{org}/snapshots"))
        .json(&json!({"Direction": direction}))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let id = accepted["JobId"].as_str().unwrap().to_owned();
    let start = Instant::now();
    let job = client.wait_job(&id, FINISHED, 3 * 3600).await;
    assert_eq!(job["Status"], "Completed", "{direction} snapshot: {job}");
    assert_eq!(summary_count(&job, "Created"), n as i64, "{job}");
    let exec = exec_time(&job);
    println!(
        "W6 {direction} snapshot of {n} records: {:.2} s ({:.0} records/s; wall {:.2} s)",
        exec.as_secs_f64(),
        rate(n, exec),
        start.elapsed().as_secs_f64()
    );
    exec
}

/// The Get from `server_url` into a new client org, then the Send from a client org holding
/// `rows` to a fresh server process.
pub async fn w6(
    opts: &Options,
    client: &Process,
    server_url: &str,
    rows: &[Row],
    dir: &Path,
) -> W6 {
    let n = rows.len();
    client.connect(GET_ORG, server_url, json!({})).await;
    let get = snapshot(client, GET_ORG, "Get", n).await;
    assert_eq!(records(client, GET_ORG).await, n as u64);

    let server_dir = dir.join("send-server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let server = start(opts, &sqlite_url(&server_dir), &server_dir, "send-server").await;
    let url = seed_server(&server, &[]).await;
    client.crm_org(SEND_ORG).await;
    for chunk in rows.chunks(CHUNK) {
        client.batch(SEND_ORG, upsert_body(chunk)).await;
    }
    client.connect(SEND_ORG, &url, json!({})).await;
    let server_busy = request_seconds(&server).await;
    let (server_cpu, client_cpu) = (server.cpu_seconds(), client.cpu_seconds());
    let send = snapshot(client, SEND_ORG, "Send", n).await;
    let server_busy = request_seconds(&server).await - server_busy;
    println!(
        "   where the time goes: server answering the batches {server_busy:.2} s ({:.0}% of \
         the Send); CPU during it: client {:.2} s, server {:.2} s",
        100.0 * server_busy / send.as_secs_f64(),
        client.cpu_seconds() - client_cpu,
        server.cpu_seconds() - server_cpu
    );
    assert_eq!(records(&server, SERVER_ORG).await, n as u64);
    W6 { get, send }
}
