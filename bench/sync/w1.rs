//! W1: the first (full) sync of N records, against a baseline; the client's peak RSS.

use std::path::Path;
use std::time::Duration;

use diesel::{Connection, PgConnection};

use crate::baseline::copy_baseline;
use crate::data::Row;
use crate::options::Options;
use crate::probes::postgres_cpu_seconds;
use crate::report::{mib, rate};
use crate::steps::{connect, records, request_seconds, start, summary_count, sync};
use crate::testkit::launch::{PgSchema, Process};
use crate::CLIENT_ORG;

pub struct W1 {
    pub exec: Duration,
    pub wall: Duration,
    pub baseline: Duration,
    pub peak_rss: u64,
}

impl W1 {
    /// The run of median execution time (its wall time and peak RSS with it).
    pub fn median(mut runs: Vec<W1>) -> W1 {
        runs.sort_by_key(|r| r.exec);
        runs.swap_remove((runs.len() - 1) / 2)
    }
}

/// Connects the client, runs the first sync and checks the client holds the N records.
pub async fn w1(
    server: &Process,
    client: &Process,
    server_url: &str,
    n: usize,
    baseline: Duration,
    backend: &str,
    baseline_name: &str,
) -> W1 {
    connect(client, server_url, false).await;
    let rss_before = client.rss();
    let server_busy = request_seconds(server).await;
    let (server_cpu, client_cpu) = (server.cpu_seconds(), client.cpu_seconds());
    let pg_cpu = (backend == "PostgreSQL")
        .then(postgres_cpu_seconds)
        .flatten();
    let run = sync(client).await;
    let server_busy = request_seconds(server).await - server_busy;
    let (server_cpu, client_cpu) = (
        server.cpu_seconds() - server_cpu,
        client.cpu_seconds() - client_cpu,
    );
    let pg_cpu = pg_cpu
        .and_then(|before| Some(postgres_cpu_seconds()? - before))
        .map_or(String::new(), |s| format!(", PostgreSQL {s:.2} s"));
    let peak_rss = client.peak_rss();
    assert_eq!(summary_count(&run.job, "Created"), n as i64, "{}", run.job);
    assert_eq!(records(client, CLIENT_ORG).await, n as u64);
    let exec = run.exec.as_secs_f64();
    println!(
        "W1 {backend}: first sync of {n} records: {:.2} s ({:.0} records/s; wall {:.2} s); \
         {baseline_name} {:.2} s ({:.0} rows/s); ratio {:.2}",
        exec,
        rate(n, run.exec),
        run.wall.as_secs_f64(),
        baseline.as_secs_f64(),
        rate(n, baseline),
        baseline.as_secs_f64() / exec
    );
    println!(
        "   where the time goes: server answering the feed {:.2} s ({:.0}% of the sync); \
         CPU during the sync: client {:.2} s, server {:.2} s{pg_cpu}",
        server_busy,
        100.0 * server_busy / exec,
        client_cpu,
        server_cpu
    );
    println!(
        "   client RSS: {:.1} MiB before the sync, peak (VmHWM) {:.1} MiB",
        mib(rss_before),
        mib(peak_rss)
    );
    W1 {
        exec: run.exec,
        wall: run.wall,
        baseline,
        peak_rss,
    }
}

/// W1 with the client on a fresh PostgreSQL schema (the server stays the SQLite one), against
/// a `COPY` of the same rows.
pub async fn w1_postgres(
    opts: &Options,
    server: &Process,
    server_url: &str,
    rows: &[Row],
    dir: &Path,
) -> Result<W1, String> {
    if let Err(e) = PgConnection::establish(&opts.postgres_url) {
        let note = format!(
            "PostgreSQL at {} is not reachable ({e}); W1 on PostgreSQL skipped \
             (set ORGSYNC_BENCH_POSTGRES_URL)",
            opts.postgres_url
        );
        println!("{note}");
        return Err(note);
    }
    let n = rows.len();
    let baseline = copy_baseline(rows, &opts.postgres_url);
    println!(
        "baseline: COPY of {n} rows into PostgreSQL: {:.2} s ({:.0} rows/s)",
        baseline.as_secs_f64(),
        rate(n, baseline)
    );
    let schema = PgSchema::create(&opts.postgres_url, "orgsync_bench");
    let client_dir = dir.join("client-pg");
    std::fs::create_dir_all(&client_dir).unwrap();
    let client = start(opts, &schema.url(), &client_dir, "client-pg").await;
    let result = w1(
        server,
        &client,
        server_url,
        n,
        baseline,
        "PostgreSQL",
        "COPY",
    )
    .await;
    drop(client);
    drop(schema);
    Ok(result)
}
