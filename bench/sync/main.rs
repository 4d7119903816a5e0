#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The sync benchmark: two real `orgsync serve` processes on loopback, a server org seeded
//! with CRM-like `account` records, and a client org synced from it.
//!
//! - W1: the first (full) sync of N records, against a raw single-transaction SQLite insert
//!   of the same rows; the client's peak RSS; the same on PostgreSQL against `COPY`.
//! - W2: an incremental sync of 1000 changed records, and a sync with nothing to do.
//! - W3: the upload of 10k offline client writes (pending transactions) in one sync, on a
//!   fresh pair of processes.
//! - W4: the HTTP API under load from 64 connections: single-record GET and POST, SyncAsync
//!   in XML; the peak rate, and p50 and p99 at half of it (at the first size only).
//! - W9: 200 orgs of 1000 records synced by one process, then by two sharing one PostgreSQL.
//! - W7: a Compare of N records with 10 differences, its time and the bytes on the wire, next
//!   to reading the whole feed; then a Repair.
//! - The admin console's list pages on the client org of N records, each timed.
//! - W6: a Get snapshot and a Send snapshot of N records (up to 100k), against W1's rate.
//! - W8: the first sync of N rows from a table of an external PostgreSQL database (the sql
//!   provider), against W1's rate (at the PostgreSQL size).
//!
//! `bench/run.sh` runs it; `bench/README.md` says what the figures mean. The processes are
//! started, and talked to, with the test kit of the API tests (`tests/testkit`).

#[path = "../../tests/testkit/mod.rs"]
mod testkit;

mod baseline;
mod data;
mod lists;
mod options;
mod probes;
mod report;
mod steps;
mod w1;
mod w2;
mod w3;
mod w4;
mod w6;
mod w7;
mod w8;
mod w9;

use std::time::{Duration, Instant};

use crate::baseline::sqlite_baseline;
use crate::data::generate;
use crate::lists::{lists, Lists};
use crate::options::Options;
use crate::probes::{auth_probe, count_probe, feed_probe};
use crate::report::{human, median, print_table, rate};
use crate::steps::{records, seed_server, sqlite_url, start};
use crate::testkit::fixtures::SERVER_ORG;
use crate::w1::{w1, w1_postgres, W1};
use crate::w2::w2;
use crate::w3::run_w3;
use crate::w4::{w4, W4};
use crate::w6::{w6, W6};
use crate::w7::{w7, W7};
use crate::w8::{w8, W8};
use crate::w9::run_w9;

const CLIENT_ORG: &str = "client";
/// Server records changed before each incremental sync of W2.
const W2_CHANGES: usize = 1000;
/// Offline client writes uploaded by W3's sync.
const W3_TRANSACTIONS: usize = 10_000;
/// Operations per batch request writing W3's records on the client.
const W3_CHUNK: usize = 1000;

fn main() {
    let opts = Options::parse();
    println!("# orgsync sync benchmark");
    println!();
    println!("{}", opts.describe());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut results = Vec::new();
    for &n in &opts.sizes {
        results.push(rt.block_on(run_size(&opts, n)));
    }
    let w3 = opts.runs("w3").then(|| rt.block_on(run_w3(&opts)));
    // W9 needs PostgreSQL: it runs unless the PostgreSQL part is switched off.
    let w9 = opts.postgres_size.filter(|_| opts.runs("w9")).map(|_| {
        let dir = tempfile::tempdir().unwrap();
        rt.block_on(run_w9(&opts, &generate(w9::RECORDS), dir.path()))
    });
    print_table(&opts, &results, w3.as_ref(), w9.as_ref());
}

/// What one size measured.
struct SizeResult {
    n: usize,
    avg_bytes: usize,
    sqlite: W1,
    /// Median execution times of W2's 1000-change and idle syncs (unless skipped).
    w2: Option<(Duration, Duration)>,
    /// Sizes above [`W6_MAX`] skip it.
    w6: Option<W6>,
    w7: Option<W7>,
    /// The admin console's list pages on the client.
    lists: Lists,
    /// At the first size only.
    w4: Option<W4>,
    postgres: Option<Result<W1, String>>,
    /// At the PostgreSQL size.
    w8: Option<Result<W8, String>>,
}

/// `(a, b, c s)`: the times a median was taken of.
fn reps_note(times: &[Duration]) -> String {
    if times.len() < 2 {
        return String::new();
    }
    let list: Vec<String> = times
        .iter()
        .map(|t| format!("{:.2}", t.as_secs_f64()))
        .collect();
    format!(", median of {} s", list.join(", "))
}

/// The largest size W6 runs at.
const W6_MAX: usize = 100_000;

/// The raw baseline, the server seeded with N records, W1 and W2 on SQLite, the diagnostics,
/// and W1 on PostgreSQL at its size.
async fn run_size(opts: &Options, n: usize) -> SizeResult {
    println!();
    println!("## {} records", human(n));
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let rows = generate(n);
    let avg_bytes = rows.iter().map(|r| r.attributes.len()).sum::<usize>() / n;
    println!(
        "generated {n} accounts in {:.1} s, {avg_bytes} bytes of JSON each on average",
        t.elapsed().as_secs_f64()
    );

    // Baseline first, with no orgsync process running: each repetition's, and their median.
    let baselines: Vec<Duration> = (0..opts.w1_reps)
        .map(|_| sqlite_baseline(&rows, dir.path()))
        .collect();
    let baseline = median(baselines.clone());
    println!(
        "baseline: raw SQLite insert of {n} rows in one transaction: {:.2} s ({:.0} rows/s){}",
        baseline.as_secs_f64(),
        rate(n, baseline),
        reps_note(&baselines)
    );

    let server_dir = dir.path().join("server");
    let client_dir = dir.path().join("client");
    std::fs::create_dir_all(&server_dir).unwrap();
    std::fs::create_dir_all(&client_dir).unwrap();
    let server = start(opts, &sqlite_url(&server_dir), &server_dir, "server").await;
    let t = Instant::now();
    let server_url = seed_server(&server, &rows).await;
    assert_eq!(records(&server, SERVER_ORG).await, n as u64);
    println!(
        "seeded the server in {:.1} s ({:.0} records/s through the batch API)",
        t.elapsed().as_secs_f64(),
        rate(n, t.elapsed())
    );
    feed_probe(&server, n).await;

    // W1 on SQLite: each repetition a first sync into a fresh client process and database,
    // the last one on the client that W2 to W6 go on with.
    let mut runs = Vec::with_capacity(opts.w1_reps);
    for rep in 1..opts.w1_reps {
        let d = dir.path().join(format!("client-w1-{rep}"));
        std::fs::create_dir_all(&d).unwrap();
        let c = start(opts, &sqlite_url(&d), &d, "client").await;
        runs.push(
            w1(
                &server,
                &c,
                &server_url,
                n,
                baseline,
                "SQLite",
                "raw insert",
            )
            .await,
        );
        drop(c);
        let _ = std::fs::remove_dir_all(&d);
    }
    let client = start(opts, &sqlite_url(&client_dir), &client_dir, "client").await;
    runs.push(
        w1(
            &server,
            &client,
            &server_url,
            n,
            baseline,
            "SQLite",
            "raw insert",
        )
        .await,
    );
    let sqlite = W1::median(runs);
    if opts.w1_reps > 1 {
        println!(
            "W1 SQLite: median of {}: {:.2} s ({:.0} records/s), {:.2}× the median raw insert",
            opts.w1_reps,
            sqlite.exec.as_secs_f64(),
            rate(n, sqlite.exec),
            baseline.as_secs_f64() / sqlite.exec.as_secs_f64()
        );
    }

    // W2.
    let w2 = if opts.runs("w2") {
        Some(w2(&server, &client, n, opts.w2_reps).await)
    } else {
        None
    };
    let w7 = if opts.runs("w7") {
        Some(w7(&server, &client, &server_url, n, opts.w2_reps).await)
    } else {
        None
    };
    assert_eq!(records(&client, CLIENT_ORG).await, n as u64);
    let lists = lists(&client).await;
    auth_probe(&server).await;
    count_probe(&client).await;
    let w6 = if n <= W6_MAX && opts.runs("w6") {
        Some(w6(opts, &client, &server_url, &rows, dir.path()).await)
    } else {
        None
    };
    let w4 = if Some(&n) == opts.sizes.first() && opts.runs("w4") {
        Some(w4(&server, &client, &rows).await)
    } else {
        None
    };
    drop(client);

    // W1 on PostgreSQL.
    let postgres = if opts.postgres_size == Some(n) {
        Some(w1_postgres(opts, &server, &server_url, &rows, dir.path()).await)
    } else {
        None
    };
    drop(server);
    let w8 = if opts.postgres_size == Some(n) && opts.runs("w8") {
        Some(w8(opts, &rows, dir.path(), sqlite.exec).await)
    } else {
        None
    };
    SizeResult {
        n,
        avg_bytes,
        sqlite,
        w2,
        w6,
        w7,
        lists,
        w4,
        postgres,
        w8,
    }
}
