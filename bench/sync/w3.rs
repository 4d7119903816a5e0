//! W3: the upload of 10k offline client writes (pending transactions) in one sync, on a fresh
//! pair of processes.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::data::{generate, upsert_body};
use crate::options::Options;
use crate::report::{human, rate};
use crate::steps::{
    connect, records, request_seconds, seed_server, sqlite_url, start, summary_count, sync,
    sync_with, transactions,
};
use crate::testkit::fixtures::SERVER_ORG;
use crate::testkit::launch::Process;
use crate::{CLIENT_ORG, W3_CHUNK, W3_TRANSACTIONS};

pub struct W3 {
    pub exec: Duration,
    pub wall: Duration,
}

/// Whether the client lists at least one transaction with this status (the API a person or
/// an app would ask).
async fn any_transaction(client: &Process, status: &str) -> bool {
    let list = client
        .get(&format!(
            "/rest/v1/sync/{CLIENT_ORG}/transactions?Status={status}&Limit=1"
        ))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    !list["Transactions"].as_array().unwrap().is_empty()
}

/// A fresh server org (the entity and the sync user, no records) and a fresh client connected
/// to it with `WriteOffline`; after a first (empty) sync, `W3_TRANSACTIONS` records are written
/// on the client through its batch API, each a pending transaction; then one outbound sync
/// delivers them all. The server must then hold them, and no transaction be left pending.
pub async fn run_w3(opts: &Options) -> W3 {
    let n = W3_TRANSACTIONS;
    println!();
    println!("## W3: upload of {} offline client transactions", human(n));
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let client_dir = dir.path().join("client");
    std::fs::create_dir_all(&server_dir).unwrap();
    std::fs::create_dir_all(&client_dir).unwrap();
    let server = start(opts, &sqlite_url(&server_dir), &server_dir, "server").await;
    let server_url = seed_server(&server, &[]).await;
    let client = start(opts, &sqlite_url(&client_dir), &client_dir, "client").await;
    connect(&client, &server_url, true).await;
    let first = sync(&client).await;
    assert_eq!(summary_count(&first.job, "Created"), 0, "{}", first.job);

    // The offline writes: new records, each captured as a pending transaction.
    let rows = generate(n);
    let t = Instant::now();
    for chunk in rows.chunks(W3_CHUNK) {
        for r in client.batch(CLIENT_ORG, upsert_body(chunk)).await {
            assert_eq!(r["Transaction"]["Status"], "Pending", "client write: {r}");
        }
    }
    let written = t.elapsed();
    assert_eq!(records(&client, CLIENT_ORG).await, n as u64);
    assert!(any_transaction(&client, "Pending").await);
    assert_eq!(transactions(&client, "Pending").await, n as u64);
    assert_eq!(records(&server, SERVER_ORG).await, 0);
    println!(
        "wrote {n} records on the client (WriteOffline) in {:.1} s ({:.0} records/s through \
         its batch API, {W3_CHUNK} a request): {n} transactions pending",
        written.as_secs_f64(),
        rate(n, written)
    );

    let server_busy = request_seconds(&server).await;
    let (server_cpu, client_cpu) = (server.cpu_seconds(), client.cpu_seconds());
    let run = sync_with(&client, json!({"Direction": "Outbound"})).await;
    let server_busy = request_seconds(&server).await - server_busy;
    let (server_cpu, client_cpu) = (
        server.cpu_seconds() - server_cpu,
        client.cpu_seconds() - client_cpu,
    );
    assert_eq!(summary_count(&run.job, "Uploaded"), n as i64, "{}", run.job);
    assert_eq!(summary_count(&run.job, "Failed"), 0, "{}", run.job);
    assert_eq!(summary_count(&run.job, "Conflicts"), 0, "{}", run.job);
    assert!(!any_transaction(&client, "Pending").await);
    assert!(!any_transaction(&client, "Error").await);
    assert_eq!(transactions(&client, "Processed").await, n as u64);
    assert_eq!(records(&server, SERVER_ORG).await, n as u64);
    let exec = run.exec.as_secs_f64();
    println!(
        "W3: upload of {n} transactions in one sync: {exec:.2} s ({:.0} transactions/s; \
         wall {:.2} s); none pending after it, the server holds {n} records",
        rate(n, run.exec),
        run.wall.as_secs_f64()
    );
    println!(
        "   where the time goes: server answering the batches {server_busy:.2} s ({:.0}% of \
         the sync); CPU during the sync: client {client_cpu:.2} s, server {server_cpu:.2} s",
        100.0 * server_busy / exec
    );
    W3 {
        exec: run.exec,
        wall: run.wall,
    }
}
