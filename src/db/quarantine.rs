//! What jobs deleted or overwrote, with the prior state, on the side where it happened, until
//! `UndoDeletes` restores it or the retention purges it.

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::schema::quarantine;
use super::{DbConn, DbResult, Json};

/// Which side a quarantined record was deleted on.
pub const CLIENT: &str = "Client";
pub const SERVER: &str = "Server";
/// What the job did to it.
pub const DELETED: &str = "Deleted";
pub const OVERWRITTEN: &str = "Overwritten";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = quarantine)]
pub struct QuarantineRow {
    pub id: i64,
    pub job_id: String,
    pub org_id: i64,
    pub entity: String,
    pub record_id: String,
    pub side: String,
    pub action: String,
    pub attributes: Json<Map<String, Value>>,
    /// The record's version on its side before the job changed it.
    pub version: i64,
    pub created_on: i64,
    pub restored_on: Option<i64>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = quarantine)]
pub struct NewQuarantine {
    pub job_id: String,
    pub org_id: i64,
    pub entity: String,
    pub record_id: String,
    pub side: &'static str,
    pub action: &'static str,
    pub attributes: Json<Map<String, Value>>,
    pub version: i64,
    pub created_on: i64,
}

/// Keeps records before a job changes them (a record already kept by the job stays as it was).
pub fn keep(conn: &mut DbConn, rows: &[NewQuarantine]) -> DbResult<()> {
    match conn {
        DbConn::Pg(c) => {
            for chunk in rows.chunks(500) {
                diesel::insert_into(quarantine::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
        }
        DbConn::Sqlite(c) => {
            for row in rows {
                diesel::insert_into(quarantine::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Forgets what a job kept of records it did not change after all (the server changed them
/// after the job read them).
pub fn forget(
    conn: &mut DbConn,
    job_id: &str,
    side: &str,
    entity: &str,
    ids: &[String],
) -> DbResult<()> {
    for chunk in ids.chunks(500) {
        diesel::delete(
            quarantine::table
                .filter(quarantine::job_id.eq(job_id))
                .filter(quarantine::side.eq(side))
                .filter(quarantine::entity.eq(entity))
                .filter(quarantine::record_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// What a job kept, in the order it kept it, after `after`, of one entity when given.
pub fn list(
    conn: &mut DbConn,
    job_id: &str,
    entity: Option<&str>,
    after: Option<i64>,
    limit: i64,
) -> DbResult<Vec<QuarantineRow>> {
    let mut q = quarantine::table
        .filter(quarantine::job_id.eq(job_id.to_owned()))
        .order(quarantine::id.asc())
        .limit(limit)
        .select(QuarantineRow::as_select())
        .into_boxed();
    if let Some(e) = entity {
        q = q.filter(quarantine::entity.eq(e.to_owned()));
    }
    if let Some(a) = after {
        q = q.filter(quarantine::id.gt(a));
    }
    Ok(q.load(conn)?)
}

/// The deletions of a job not restored yet, after `after`, of the named records when given.
pub fn unrestored(
    conn: &mut DbConn,
    job_id: &str,
    ids: Option<&[String]>,
    after: i64,
    limit: i64,
) -> DbResult<Vec<QuarantineRow>> {
    let mut q = quarantine::table
        .filter(quarantine::job_id.eq(job_id.to_owned()))
        .filter(quarantine::action.eq(DELETED))
        .filter(quarantine::restored_on.is_null())
        .filter(quarantine::id.gt(after))
        .order(quarantine::id.asc())
        .limit(limit)
        .select(QuarantineRow::as_select())
        .into_boxed();
    if let Some(ids) = ids {
        q = q.filter(quarantine::record_id.eq_any(ids.to_vec()));
    }
    Ok(q.load(conn)?)
}

/// Marks a kept record restored; false when it already was (it is never restored twice).
pub fn mark_restored(conn: &mut DbConn, id: i64, at: i64) -> DbResult<bool> {
    Ok(diesel::update(
        quarantine::table
            .find(id)
            .filter(quarantine::restored_on.is_null()),
    )
    .set(quarantine::restored_on.eq(at))
    .execute(conn)?
        == 1)
}

/// Removes what was kept before `cutoff_micros`; gives how many.
pub fn purge(conn: &mut DbConn, cutoff_micros: i64) -> DbResult<usize> {
    Ok(
        diesel::delete(quarantine::table.filter(quarantine::created_on.lt(cutoff_micros)))
            .execute(conn)?,
    )
}
