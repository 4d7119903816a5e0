//! W9, scale-out: many small orgs synced by one orgsync process, then by two processes
//! sharing one PostgreSQL database (one job queue). A SQLite server process holds 200 server
//! orgs of 1000 records each; each of 200 client orgs is connected to one of them, then all
//! 200 syncs are asked for at once (half through each process when there are two) and the
//! wall time until the last one ends gives jobs/s and records/s. Every job must complete,
//! create its 1000 records, and have run in one try: a job taken over, or run twice at once,
//! would show a second try.

use std::path::Path;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection};
use serde_json::json;

use crate::data::{upsert_body, Row};
use crate::options::Options;
use crate::probes::postgres_cpu_seconds;
use crate::report::rate;
use crate::steps::{sqlite_url, start, summary_count};
use crate::testkit::client::FINISHED;
use crate::testkit::fixtures::{account_definition, add_sync_user};
use crate::testkit::launch::{PgSchema, Process};

/// Orgs synced.
pub const ORGS: usize = 200;
/// Records of each org.
pub const RECORDS: usize = 1000;

/// The syncs of the [`ORGS`] client orgs by some processes.
pub struct Run {
    pub wall: Duration,
    /// CPU seconds during the syncs: each orgsync process, and PostgreSQL's processes.
    pub cpu: Vec<f64>,
    pub postgres_cpu: Option<f64>,
}

impl Run {
    pub fn jobs_per_second(&self) -> f64 {
        rate(ORGS, self.wall)
    }
    pub fn records_per_second(&self) -> f64 {
        rate(ORGS * RECORDS, self.wall)
    }
}

pub struct W9 {
    pub one: Run,
    pub two: Run,
}

/// W9, unless PostgreSQL cannot be reached.
pub async fn run_w9(opts: &Options, rows: &[Row], dir: &Path) -> Result<W9, String> {
    println!();
    println!(
        "## W9: {ORGS} orgs of {RECORDS} records, by one process and by two on one PostgreSQL"
    );
    if let Err(e) = PgConnection::establish(&opts.postgres_url) {
        let note = format!(
            "PostgreSQL at {} is not reachable ({e}); W9 skipped",
            opts.postgres_url
        );
        println!("{note}");
        return Err(note);
    }
    let server_dir = dir.join("w9-server");
    std::fs::create_dir_all(&server_dir).unwrap();
    let server = start(opts, &sqlite_url(&server_dir), &server_dir, "w9-server").await;
    let t = Instant::now();
    let body = upsert_body(&rows[..RECORDS]);
    for i in 0..ORGS {
        let org = server.org(&format!("s{i:03}")).await;
        server.entity(&org, "account", account_definition()).await;
        add_sync_user(&server, &org).await;
        server.batch(&org, body.clone()).await;
    }
    println!(
        "seeded {ORGS} server orgs of {RECORDS} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let one = syncs(opts, &server, 1, dir).await;
    let two = syncs(opts, &server, 2, dir).await;
    Ok(W9 { one, two })
}

/// Connects the client orgs through `n` fresh processes on a fresh schema, then syncs them all
/// at once.
async fn syncs(opts: &Options, server: &Process, n: usize, dir: &Path) -> Run {
    let schema = PgSchema::create(&opts.postgres_url, "orgsync_w9");
    let mut processes = Vec::new();
    for p in 0..n {
        let label = format!("w9-{n}-{p}");
        let pdir = dir.join(&label);
        std::fs::create_dir_all(&pdir).unwrap();
        processes.push(start(opts, &schema.url(), &pdir, &label).await);
    }
    let by = |i: usize| &processes[i % n];
    let mut connects = Vec::new();
    for i in 0..ORGS {
        let url = format!("{}/rest/v1/orgs/s{i:03}", server.base());
        connects.push(
            by(i)
                .connect_async(&format!("c{i:03}"), &url, json!({}))
                .await,
        );
    }
    for id in &connects {
        let job = processes[0].wait_job(id, FINISHED, 600).await;
        assert_eq!(job["Status"], "Completed", "{job}");
    }
    let cpu: Vec<f64> = processes.iter().map(|p| p.cpu_seconds()).collect();
    let pg = postgres_cpu_seconds();
    let t = Instant::now();
    let mut ids = Vec::new();
    for i in 0..ORGS {
        ids.push(by(i).start_sync(&format!("c{i:03}"), json!({})).await);
    }
    let mut jobs = Vec::new();
    for id in &ids {
        jobs.push(processes[0].wait_job(id, FINISHED, 3600).await);
    }
    let wall = t.elapsed();
    let cpu: Vec<f64> = processes
        .iter()
        .zip(cpu)
        .map(|(p, before)| p.cpu_seconds() - before)
        .collect();
    let postgres_cpu = pg.and_then(|before| Some(postgres_cpu_seconds()? - before));
    for job in &jobs {
        assert_eq!(job["Status"], "Completed", "{job}");
        assert_eq!(summary_count(job, "Created"), RECORDS as i64, "{job}");
        assert_eq!(job["Tries"], 1, "a job ran more than once: {job}");
    }
    let run = Run {
        wall,
        cpu,
        postgres_cpu,
    };
    println!(
        "W9 by {n} process{}: {ORGS} syncs in {:.2} s ({:.1} jobs/s, {:.0} records/s), each job \
         completed in one try; CPU during them: orgsync {}, PostgreSQL {}",
        if n == 1 { "" } else { "es" },
        wall.as_secs_f64(),
        run.jobs_per_second(),
        run.records_per_second(),
        run.cpu
            .iter()
            .map(|c| format!("{c:.1} s"))
            .collect::<Vec<_>>()
            .join(" + "),
        run.postgres_cpu
            .map_or("unknown (not local)".to_owned(), |c| format!("{c:.1} s")),
    );
    drop(processes);
    drop(schema);
    run
}
