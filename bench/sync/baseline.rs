//! The baselines orgsync is measured against: the same rows written straight into a database,
//! into a table shaped like orgsync's `records` (a raw SQLite insert, a PostgreSQL `COPY`).

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::data::Row;
use crate::testkit::launch::PgSchema;

mod raw {
    diesel::table! {
        records (org_id, entity, id) {
            org_id -> BigInt,
            entity -> Text,
            id -> Text,
            version -> BigInt,
            created_version -> BigInt,
            created_on -> BigInt,
            modified_on -> BigInt,
            deleted -> Bool,
            attributes -> Text,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = raw::records)]
#[diesel(treat_none_as_default_value = false)]
struct RawRow<'a> {
    org_id: i64,
    entity: &'a str,
    id: &'a str,
    version: i64,
    created_version: i64,
    created_on: i64,
    modified_on: i64,
    deleted: bool,
    attributes: &'a str,
}

fn raw_rows(rows: &[Row]) -> Vec<RawRow<'_>> {
    let now = Utc::now().timestamp_micros();
    rows.iter()
        .enumerate()
        .map(|(i, r)| RawRow {
            org_id: 1,
            entity: "account",
            id: &r.id,
            version: i as i64 + 1,
            created_version: i as i64 + 1,
            created_on: now,
            modified_on: now,
            deleted: false,
            attributes: &r.attributes,
        })
        .collect()
}

const RECORDS_DDL: &str = "CREATE TABLE records (
    org_id BIGINT NOT NULL,
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_version BIGINT NOT NULL,
    created_on BIGINT NOT NULL,
    modified_on BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    attributes TEXT NOT NULL,
    PRIMARY KEY (org_id, entity, id)
);
CREATE INDEX records_by_version ON records (org_id, version);";

/// A single-transaction insert of the rows into a fresh SQLite file with orgsync's pragmas,
/// one cached prepared statement per row. Gives the time (insert and commit).
pub fn sqlite_baseline(rows: &[Row], dir: &Path) -> Duration {
    let path = dir.join("raw.db");
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA busy_timeout = 15000; PRAGMA foreign_keys = ON;",
    )
    .unwrap();
    conn.batch_execute(RECORDS_DDL).unwrap();
    let values = raw_rows(rows);
    let start = Instant::now();
    conn.immediate_transaction(|c| {
        for v in &values {
            diesel::insert_into(raw::records::table)
                .values(v)
                .execute(c)?;
        }
        diesel::QueryResult::Ok(())
    })
    .unwrap();
    let took = start.elapsed();
    drop(conn);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.join(format!("raw.db{suffix}")));
    }
    took
}

/// `COPY` (binary, through diesel) of the rows into a same-shaped table in a fresh schema.
pub fn copy_baseline(rows: &[Row], base: &str) -> Duration {
    let schema = PgSchema::create(base, "orgsync_bench_copy");
    let mut conn = PgConnection::establish(&schema.url()).unwrap();
    conn.batch_execute(RECORDS_DDL).unwrap();
    let values = raw_rows(rows);
    let start = Instant::now();
    let copied = diesel::copy_from(raw::records::table)
        .from_insertable(&values)
        .execute(&mut conn)
        .unwrap();
    let took = start.elapsed();
    assert_eq!(copied, rows.len());
    took
}
