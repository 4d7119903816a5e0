//! W8: the first sync of N rows from a table of an external PostgreSQL database (the sql
//! provider), next to W1 from the orgsync provider in the same run.

use std::path::Path;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{json, Map, Value};

use crate::data::Row;
use crate::options::Options;
use crate::report::rate;
use crate::steps::{records, sqlite_url, start, summary_count, sync};
use crate::testkit::launch::PgSchema;
use crate::CLIENT_ORG;

/// The bench's `account` as a table of a CRM's own database.
const DDL: &str = "CREATE TABLE account (
    accountid text PRIMARY KEY,
    name varchar(160) NOT NULL,
    emailaddress1 varchar(100),
    description text,
    numberofemployees integer,
    revenue numeric(19,4),
    creditonhold boolean,
    lastcontacted timestamptz,
    founded date,
    externalid uuid,
    statecode integer,
    industrycode integer
)";

/// Rows per seeding statement.
const SEED_CHUNK: usize = 5000;

pub struct W8 {
    pub exec: Duration,
    pub wall: Duration,
}

/// Fills a fresh schema's `account` table with `rows` (not timed), connects a fresh client to
/// it through the sql provider and times the first sync.
pub async fn w8(opts: &Options, rows: &[Row], dir: &Path, w1_exec: Duration) -> Result<W8, String> {
    if let Err(e) = PgConnection::establish(&opts.postgres_url) {
        let note = format!("PostgreSQL is not reachable ({e}); W8 skipped");
        println!("{note}");
        return Err(note);
    }
    let n = rows.len();
    let schema = PgSchema::create(&opts.postgres_url, "orgsync_bench_crm");
    let mut conn = PgConnection::establish(&opts.postgres_url).unwrap();
    conn.batch_execute(&format!("SET search_path TO {}; {DDL}", schema.name))
        .unwrap();
    let t = Instant::now();
    for chunk in rows.chunks(SEED_CHUNK) {
        let objects: Vec<Value> = chunk
            .iter()
            .map(|r| {
                let mut a: Map<String, Value> = serde_json::from_str(&r.attributes).unwrap();
                a.insert("accountid".to_owned(), json!(r.id));
                Value::Object(a)
            })
            .collect();
        diesel::sql_query(
            "INSERT INTO account SELECT * FROM json_populate_recordset(NULL::account, $1::json)",
        )
        .bind::<Text, _>(Value::Array(objects).to_string())
        .execute(&mut conn)
        .unwrap();
    }
    conn.batch_execute("ANALYZE account").unwrap();
    println!(
        "W8: filled an external PostgreSQL table with {n} rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let client_dir = dir.join("client-w8");
    std::fs::create_dir_all(&client_dir).unwrap();
    let client = start(opts, &sqlite_url(&client_dir), &client_dir, "client-w8").await;
    let address = opts.postgres_url.trim_start_matches("postgres://");
    let (user, address) = address.split_once('@').unwrap_or(("postgres", address));
    let (user, password) = user
        .split_once(':')
        .unwrap_or((user, "unused-with-trust-auth"));
    let address = address.split('?').next().unwrap_or(address);
    client
        .connect(
            CLIENT_ORG,
            "",
            json!({
                "ProviderID": "sql",
                "Url": format!("postgres://{address}?schema={}", schema.name),
                "UserName": user,
                "Password": password,
                "InstallChangeCapture": true,
            }),
        )
        .await;
    let run = sync(&client).await;
    assert_eq!(summary_count(&run.job, "Created"), n as i64, "{}", run.job);
    assert_eq!(records(&client, CLIENT_ORG).await, n as u64);
    println!(
        "W8 sql provider: first sync of {n} rows from an external PostgreSQL table: {:.2} s \
         ({:.0} records/s; wall {:.2} s); {:.2}× W1's rate from the orgsync provider",
        run.exec.as_secs_f64(),
        rate(n, run.exec),
        run.wall.as_secs_f64(),
        w1_exec.as_secs_f64() / run.exec.as_secs_f64()
    );
    drop(client);
    drop(schema);
    Ok(W8 {
        exec: run.exec,
        wall: run.wall,
    })
}
