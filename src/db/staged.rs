//! Deletes a job planned and has not made yet: staged with the batch that found them, so a
//! crash loses none, and made (or dropped) once the delete guard has counted them all.

use diesel::prelude::*;

use super::schema::staged_deletes;
use serde_json::{Map, Value};

use super::{DbConn, DbResult, Json};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = staged_deletes)]
pub struct StagedDelete {
    pub job_id: String,
    pub org_id: i64,
    pub entity: String,
    pub record_id: String,
    /// The server's version of the deletion, kept on the record's tombstone.
    pub server_version: Option<i64>,
    /// Why the record goes (`OutOfScope`, `NotOnServer`), for the log.
    pub reason: Option<String>,
    /// A delete on the server's side: the record as the job read it, for the quarantine.
    pub prior: Option<Json<Map<String, Value>>>,
}

/// Stages deletes (one already staged for the job stays as it was).
pub fn stage(conn: &mut DbConn, rows: &[StagedDelete]) -> DbResult<()> {
    match conn {
        DbConn::Pg(c) => {
            for chunk in rows.chunks(500) {
                diesel::insert_into(staged_deletes::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
        }
        DbConn::Sqlite(c) => {
            for row in rows {
                diesel::insert_into(staged_deletes::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// How many deletes of `entity` the job has staged.
pub fn count(conn: &mut DbConn, job_id: &str, entity: &str) -> DbResult<u64> {
    let n: i64 = staged_deletes::table
        .filter(staged_deletes::job_id.eq(job_id))
        .filter(staged_deletes::entity.eq(entity))
        .count()
        .get_result(conn)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The staged deletes of `entity` after the id `after`, in id order.
pub fn next(
    conn: &mut DbConn,
    job_id: &str,
    entity: &str,
    after: &str,
    limit: i64,
) -> DbResult<Vec<StagedDelete>> {
    Ok(staged_deletes::table
        .filter(staged_deletes::job_id.eq(job_id))
        .filter(staged_deletes::entity.eq(entity))
        .filter(staged_deletes::record_id.gt(after))
        .order(staged_deletes::record_id.asc())
        .limit(limit)
        .select(StagedDelete::as_select())
        .load(conn)?)
}

/// Removes staged deletes once made (or found needless).
pub fn remove(conn: &mut DbConn, job_id: &str, entity: &str, ids: &[String]) -> DbResult<()> {
    for chunk in ids.chunks(500) {
        diesel::delete(
            staged_deletes::table
                .filter(staged_deletes::job_id.eq(job_id))
                .filter(staged_deletes::entity.eq(entity))
                .filter(staged_deletes::record_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Drops the deletes a job staged for `entity` (a snapshot's pass plans them again).
pub fn drop_entity(conn: &mut DbConn, job_id: &str, entity: &str) -> DbResult<usize> {
    Ok(diesel::delete(
        staged_deletes::table
            .filter(staged_deletes::job_id.eq(job_id))
            .filter(staged_deletes::entity.eq(entity)),
    )
    .execute(conn)?)
}

/// Drops every delete a job staged (it was cancelled).
pub fn drop_job(conn: &mut DbConn, job_id: &str) -> DbResult<usize> {
    Ok(
        diesel::delete(staged_deletes::table.filter(staged_deletes::job_id.eq(job_id)))
            .execute(conn)?,
    )
}
