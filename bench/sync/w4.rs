//! W4: the HTTP API under load. 64 connections send one kind of request each round: a
//! single-record GET and a single-record POST on the server process, and `SyncAsync` in XML
//! on the client process. Each kind runs first as fast as it goes (closed loop: each
//! connection sends its next request when the last is answered), which gives the peak rate,
//! then paced at half that rate, where p99 is measured from the moment each request was due
//! (a late send counts as waiting, so a stall cannot hide).
//!
//! The load comes from this process, on one thread, on the same machine as the server: the
//! CPU both used is printed with the figures, to tell which one bounds them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::data::{upsert_body, Row};
use crate::report::{ms, rate};
use crate::testkit::client::Req;
use crate::testkit::launch::{proc_cpu_seconds, Process};
use crate::CLIENT_ORG;

/// Connections sending at once.
pub const CONNECTIONS: usize = 64;
/// The org W4 reads and writes on the server, apart from the synced one.
const ORG: &str = "w4";
/// Records the reads pick from.
const RECORDS: usize = 10_000;
/// How long each closed-loop and each paced run lasts.
const RUN: Duration = Duration::from_secs(5);

/// One run of one kind of request.
#[derive(Clone, Copy)]
pub struct Load {
    pub requests: u64,
    pub errors: u64,
    /// Answers per second over the run.
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// CPU seconds used during the run by the process answering and by this one.
    pub server_cpu: f64,
    pub bench_cpu: f64,
}

/// A kind of request at its peak and at half of it.
pub struct Kind {
    pub name: &'static str,
    pub peak: Load,
    pub half: Load,
    /// Reads are held to the read target, writes to the write target.
    pub write: bool,
}

pub struct W4 {
    pub kinds: Vec<Kind>,
}

/// Builds the `k`th request of a kind.
type Make<'a> = &'a dyn Fn(u64) -> Req;

/// Runs W4 on `server` (the reads and writes, in an org of their own) and `client` (its
/// `SyncAsync`, which must be connected).
pub async fn w4(server: &Process, client: &Process, rows: &[Row]) -> W4 {
    server.org(ORG).await;
    server
        .entity(
            ORG,
            "account",
            crate::testkit::fixtures::account_definition(),
        )
        .await;
    let rows = &rows[..RECORDS.min(rows.len())];
    for chunk in rows.chunks(5000) {
        server.batch(ORG, upsert_body(chunk)).await;
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let read = |k: u64| {
        let id = ids[(k as usize * 7919) % ids.len()];
        server.get(&format!(
            "/rest/v1/orgs/{ORG}/entities/account/records/{id}"
        ))
    };
    let written = AtomicU64::new(0);
    let write = |_k: u64| {
        let n = written.fetch_add(1, Ordering::Relaxed);
        server
            .post(&format!("/rest/v1/orgs/{ORG}/entities/account/records"))
            .raw(
                "application/json",
                format!(r#"{{"Id":"w4-{n}","Attributes":{{"name":"Load {n}","numberofemployees":{n}}}}}"#),
            )
    };
    let sync = |_k: u64| {
        client
            .post(&format!("/rest/v1/sync/{CLIENT_ORG}/SyncAsync"))
            .raw(
                "application/xml",
                "<SyncRequest><Entities><Entity>account</Entity></Entities></SyncRequest>",
            )
    };
    let mut kinds = Vec::new();
    for (name, make, by, write) in [
        ("single-record GET", &read as Make, server, false),
        ("single-record POST", &write as Make, server, true),
        ("SyncAsync in XML", &sync as Make, client, true),
    ] {
        let peak = measure(by, make, None).await;
        let half = measure(by, make, Some(peak.rate / 2.0)).await;
        println!(
            "W4 {name}: {} requests, peak {:.0} req/s (p50 {:.2} ms, p99 {:.2} ms, {} errors); at {:.0} req/s: p50 {:.2} ms, p99 {:.2} ms, {} errors; CPU at peak: orgsync {:.1} s, load {:.1} s of {:.0} s",
            peak.requests,
            peak.rate,
            ms(peak.p50),
            ms(peak.p99),
            peak.errors,
            half.rate,
            ms(half.p50),
            ms(half.p99),
            half.errors,
            peak.server_cpu,
            peak.bench_cpu,
            RUN.as_secs_f64(),
        );
        kinds.push(Kind {
            name,
            peak,
            half,
            write,
        });
    }
    W4 { kinds }
}

/// One run of [`RUN`]: closed loop when `pace` is None, else `pace` requests per second in
/// all, spread evenly over the connections.
async fn measure(by: &Process, make: Make<'_>, pace: Option<f64>) -> Load {
    let next = AtomicU64::new(0);
    let cpu = (by.cpu_seconds(), own_cpu());
    let start = Instant::now();
    let end = start + RUN;
    let workers = (0..CONNECTIONS).map(|w| {
        let next = &next;
        async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut sent = 0u64;
            loop {
                let due = match pace {
                    None => Instant::now(),
                    Some(r) => {
                        let k = sent * CONNECTIONS as u64 + w as u64;
                        start + Duration::from_secs_f64(k as f64 / r)
                    }
                };
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let k = next.fetch_add(1, Ordering::Relaxed);
                let ok = match make(k).try_send().await {
                    Ok(res) => res.status.is_success(),
                    Err(_) => false,
                };
                latencies.push(due.elapsed());
                errors += u64::from(!ok);
                sent += 1;
            }
            (latencies, errors)
        }
    });
    let results = join_all(workers).await;
    let elapsed = start.elapsed();
    let (server_cpu, bench_cpu) = (by.cpu_seconds() - cpu.0, own_cpu() - cpu.1);
    let errors = results.iter().map(|(_, e)| e).sum();
    let mut all: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Load {
        requests: all.len() as u64,
        errors,
        rate: rate(all.len(), elapsed),
        p50: at(0.50),
        p99: at(0.99),
        server_cpu,
        bench_cpu,
    }
}

fn own_cpu() -> f64 {
    proc_cpu_seconds(std::process::id()).unwrap_or(0.0)
}
