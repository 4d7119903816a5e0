//! What the store holds about one record across its tables: its transactions, conflicts,
//! quarantine entries, and the log entries of the org's jobs that name it.

use diesel::prelude::*;

use super::conflicts::ConflictRow;
use super::quarantine::QuarantineRow;
use super::schema::{conflicts, job_log, jobs, quarantine, transactions};
use super::transactions::TxRow;
use super::{DbConn, DbError, DbResult};
use crate::domain::jobs::{JobKind, LogLevel};

/// The most entries of one source a timeline reads.
const LIMIT: i64 = 1000;

pub fn transactions_of(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    id: &str,
) -> DbResult<Vec<TxRow>> {
    Ok(transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::entity.eq(entity))
        .filter(transactions::record_id.eq(id))
        .order(transactions::seq.asc())
        .limit(LIMIT)
        .select(TxRow::as_select())
        .load(conn)?)
}

pub fn conflicts_of(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    id: &str,
) -> DbResult<Vec<ConflictRow>> {
    Ok(conflicts::table
        .filter(conflicts::org_id.eq(org_id))
        .filter(conflicts::entity.eq(entity))
        .filter(conflicts::record_id.eq(id))
        .order(conflicts::created_on.asc())
        .limit(LIMIT)
        .select(ConflictRow::as_select())
        .load(conn)?)
}

pub fn quarantine_of(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    id: &str,
) -> DbResult<Vec<QuarantineRow>> {
    Ok(quarantine::table
        .filter(quarantine::org_id.eq(org_id))
        .filter(quarantine::entity.eq(entity))
        .filter(quarantine::record_id.eq(id))
        .order(quarantine::id.asc())
        .limit(LIMIT)
        .select(QuarantineRow::as_select())
        .load(conn)?)
}

/// A job's log entry about the record.
#[derive(Debug, Clone)]
pub struct JobEntry {
    pub job_id: String,
    pub kind: JobKind,
    pub at: i64,
    pub level: LogLevel,
    pub action: String,
    pub message: String,
}

/// A log row and its job's kind, as read.
#[derive(Queryable)]
struct Named {
    job_id: String,
    kind: JobKind,
    at: i64,
    level: LogLevel,
    record_id: Option<String>,
    action: String,
    message: String,
    record_ids: Option<String>,
}

/// The log entries of `org`'s jobs that name the record, alone or in a row of many.
pub fn log_of(conn: &mut DbConn, org: &str, entity: &str, id: &str) -> DbResult<Vec<JobEntry>> {
    // A row of many lists their ids as a JSON array: found by the id's JSON text, then
    // checked, so an id that only looks alike inside another is not taken.
    let quoted = serde_json::to_string(id).map_err(|e| DbError::Corrupt(e.to_string()))?;
    let escaped = quoted
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let rows: Vec<Named> = job_log::table
        .inner_join(jobs::table)
        .filter(jobs::org_name.eq(org))
        .filter(job_log::entity.eq(entity))
        .filter(
            job_log::record_id.eq(id).or(job_log::record_ids
                .like(format!("%{escaped}%"))
                .escape('\\')),
        )
        .order(job_log::id.asc())
        .limit(LIMIT)
        .select((
            job_log::job_id,
            jobs::kind,
            job_log::at,
            job_log::level,
            job_log::record_id,
            job_log::action,
            job_log::message,
            job_log::record_ids,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for Named {
        job_id,
        kind,
        at,
        level,
        record_id,
        action,
        message,
        record_ids,
    } in rows
    {
        let named = record_id.as_deref() == Some(id)
            || record_ids
                .as_deref()
                .and_then(|ids| serde_json::from_str::<Vec<String>>(ids).ok())
                .is_some_and(|ids| ids.iter().any(|i| i == id));
        if named {
            out.push(JobEntry {
                job_id,
                kind,
                at,
                level,
                action,
                message,
            });
        }
    }
    Ok(out)
}
