//! Diagnostics, not figures: where the time goes.

use std::time::Instant;

use reqwest::StatusCode;
use serde_json::json;

use crate::report::{median, ms, rate};
use crate::steps::records;
use crate::testkit::fixtures::{SERVER_ORG, SYNC_PASSWORD, SYNC_USER};
use crate::testkit::launch::{proc_cpu_seconds, Process};
use crate::CLIENT_ORG;

/// CPU seconds used so far by the local PostgreSQL server's processes (those named
/// `postgres` that this user can see); None when there are none (a remote server).
pub fn postgres_cpu_seconds() -> Option<f64> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "postgres" {
            if let Some(cpu) = proc_cpu_seconds(pid) {
                *total.get_or_insert(0.0) += cpu;
            }
        }
    }
    total
}

/// How fast the bench alone reads the server's whole feed over HTTP, in pages of the size a
/// sync asks for (2000).
pub async fn feed_probe(server: &Process, n: usize) {
    let t = Instant::now();
    let mut since: Option<String> = None;
    let mut seen = 0;
    let mut bytes = 0;
    loop {
        let mut body = json!({"Entities": ["account"], "Limit": 2000});
        if let Some(s) = &since {
            body["Since"] = json!(s);
        }
        let res = server
            .post(&format!("/rest/v1/orgs/{SERVER_ORG}/changes"))
            .json(&body)
            .send()
            .await
            .expect(StatusCode::OK);
        bytes += res.body.len();
        let page = res.json();
        seen += page["Changes"].as_array().unwrap().len();
        since = Some(page["Next"].as_str().unwrap().to_owned());
        if !page["More"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(seen, n);
    println!(
        "diagnostics: the server's feed read alone (pages of 2000, parsed): {:.2} s \
         ({:.0} records/s, {:.0} MiB of JSON)",
        t.elapsed().as_secs_f64(),
        rate(n, t.elapsed()),
        bytes as f64 / (1024.0 * 1024.0)
    );
}

/// What one sign-in (`POST /rest/v1/auth/token`) costs on the server; a client process signs
/// in once and reuses its token across sync jobs until it nears expiry.
pub async fn auth_probe(server: &Process) {
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        server
            .post("/rest/v1/auth/token")
            .json(&json!({"Org": SERVER_ORG, "UserName": SYNC_USER, "Password": SYNC_PASSWORD}))
            .send()
            .await
            .expect(StatusCode::OK);
        times.push(t.elapsed());
    }
    println!(
        "diagnostics: one sign-in to the server (argon2 password check) takes {:.1} ms",
        ms(median(times))
    );
}

/// What counting the client's records per entity costs (`GET /usage` runs the same query as
/// the quota report at the end of a sync of an org with quotas).
pub async fn count_probe(client: &Process) {
    let mut times = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        records(client, CLIENT_ORG).await;
        times.push(t.elapsed());
    }
    println!(
        "diagnostics: counting the client's records per entity (GET /usage) takes {:.1} ms",
        ms(median(times))
    );
}
