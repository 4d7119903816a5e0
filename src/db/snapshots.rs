//! How far a Send snapshot got on each link: the client version it has sent up to, whether
//! the link is done, and the batch sent whose answer is not recorded yet.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::schema::snapshot_progress;
use super::{DbConn, DbResult, Json};
use crate::wire::batch::BatchOperation;

/// A batch stored before it is sent: after a crash it is sent again as it was, with its key,
/// so the server applies it once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingBatch {
    pub key: String,
    pub operations: Vec<BatchOperation>,
    /// Per operation, the client version of the record it sends (0 for a delete).
    pub client_versions: Vec<i64>,
    /// Transactions up to this sequence were made before the batch read its records: they
    /// are settled by it.
    pub tx_seq: i64,
    /// The client version the link has been read up to once the batch is recorded.
    pub after_version: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = snapshot_progress, treat_none_as_null = true)]
pub struct SnapshotProgress {
    pub job_id: String,
    pub entity: String,
    /// Client records up to this version have been sent (or found equal).
    pub after_version: i64,
    pub done: bool,
    pub pending: Option<Json<PendingBatch>>,
}

impl SnapshotProgress {
    pub fn new(job_id: &str, entity: &str) -> Self {
        Self {
            job_id: job_id.to_owned(),
            entity: entity.to_owned(),
            after_version: 0,
            done: false,
            pending: None,
        }
    }
}

pub fn get(conn: &mut DbConn, job_id: &str, entity: &str) -> DbResult<Option<SnapshotProgress>> {
    Ok(snapshot_progress::table
        .find((job_id, entity))
        .select(SnapshotProgress::as_select())
        .first(conn)
        .optional()?)
}

pub fn save(conn: &mut DbConn, row: &SnapshotProgress) -> DbResult<()> {
    let n =
        diesel::update(snapshot_progress::table.find((row.job_id.as_str(), row.entity.as_str())))
            .set(row)
            .execute(conn)?;
    if n == 0 {
        diesel::insert_into(snapshot_progress::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets the progress of jobs (they were purged).
pub fn drop_jobs(conn: &mut DbConn, job_ids: &[String]) -> DbResult<()> {
    diesel::delete(snapshot_progress::table.filter(snapshot_progress::job_id.eq_any(job_ids)))
        .execute(conn)?;
    Ok(())
}
