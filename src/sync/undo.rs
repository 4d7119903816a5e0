//! `UndoDeletes`: what a job deleted comes back, on the side where it was deleted, as an
//! ordinary write there. On the client a restore is a client write (captured for the server
//! when the link sends outbound, local-only otherwise); on the server it goes through the
//! provider. Each batch of restores and its marks in the quarantine commit together, so a
//! crash restores nothing twice, and a second call finds nothing left to restore.

use std::collections::HashMap;

use super::write::write_and_capture;
use super::{Engine, EngineError};
use crate::db::job_log::{self, NewLog};
use crate::db::jobs::JobRow;
use crate::db::quarantine::{self, QuarantineRow};
use crate::db::records::{self, Precondition, WriteKind, WriteOp};
use crate::db::{connections, metadata, now_micros, orgs, write_tx, DbConn};
use crate::domain::error::{Code, Refusal};
use crate::domain::jobs::{JobStatus, LogLevel};
use crate::domain::names::RecordId;
use crate::providers::Written;
use crate::wire::batch::{BatchOp, BatchOperation};

/// What an `UndoDeletes` call did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Undone {
    pub restored: u64,
    /// Not restored: a record with the id exists again on that side (the log says which).
    pub skipped: u64,
}

impl Engine {
    /// Restores the deletions of `job` not restored yet: all, or those of the named records.
    pub async fn undo_deletes(
        &self,
        job: &JobRow,
        ids: Option<Vec<String>>,
    ) -> Result<Undone, EngineError> {
        if matches!(job.status, JobStatus::Queued | JobStatus::InProcess) {
            return Err(Refusal::new(
                Code::JobRunning,
                format!(
                    "job '{}' is {}; its deletes can be undone once it has stopped",
                    job.id, job.status
                ),
            )
            .with("job_status", job.status.as_str())
            .into());
        }
        let org = job.org_name.clone();
        let org_id = self
            .db
            .run(move |conn| orgs::require(conn, &org).map(|o| o.id))
            .await?;
        let mut undone = Undone::default();
        let mut after = 0;
        loop {
            let (job_id, wanted) = (job.id.clone(), ids.clone());
            let max_bytes = self.settings.record_max_bytes;
            // Restores per database transaction (and per batch sent to the server).
            let batch = i64::from(self.settings.sync_batch).min(500);
            let (done, last, server) = self
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| {
                        restore_client(
                            conn,
                            org_id,
                            &job_id,
                            wanted.as_deref(),
                            (after, batch),
                            max_bytes,
                        )
                    })
                })
                .await?;
            let Some(last) = last else { break };
            after = last;
            undone.restored += done.restored;
            undone.skipped += done.skipped;
            if !server.is_empty() {
                let done = self.restore_server(org_id, &job.id, server).await?;
                undone.restored += done.restored;
                undone.skipped += done.skipped;
            }
        }
        self.metrics.restored.inc_by(undone.restored);
        Ok(undone)
    }

    /// Restores records the job deleted on the server, through the provider: each is created
    /// again with its id, and only where the server has no record with it.
    async fn restore_server(
        &self,
        org_id: i64,
        job_id: &str,
        rows: Vec<QuarantineRow>,
    ) -> Result<Undone, EngineError> {
        let connection = self
            .db
            .run(move |conn| connections::get(conn, org_id))
            .await?
            .ok_or_else(|| {
                Refusal::new(
                    Code::NotConnected,
                    "the org has no connection: the server's records cannot be restored",
                )
            })?;
        let provider = self.provider_for(&connection)?;
        let operations: Vec<BatchOperation> = rows
            .iter()
            .map(|r| BatchOperation {
                op: BatchOp::Upsert,
                entity: r.entity.clone(),
                id: r.record_id.clone(),
                attributes: Some(r.attributes.get().clone()),
                if_version: Some(0),
            })
            .collect();
        // The same rows give the same key: a retry after a lost answer applies nothing twice.
        let key = format!(
            "undo-{job_id}-{}-{}",
            rows.first().map_or(0, |r| r.id),
            rows.last().map_or(0, |r| r.id)
        );
        let results = provider.write_batch(&key, &operations).await?;
        let job_id = job_id.to_owned();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let now = now_micros();
                    let mut undone = Undone::default();
                    let mut log = Vec::new();
                    for (row, written) in rows.iter().zip(results) {
                        let (level, action, message) = match written {
                            Written::Applied { .. } => {
                                if !quarantine::mark_restored(conn, row.id, now)? {
                                    continue;
                                }
                                undone.restored += 1;
                                (
                                    LogLevel::Info,
                                    "Restore",
                                    "restored on the server".to_owned(),
                                )
                            }
                            Written::Stale => {
                                undone.skipped += 1;
                                (
                                    LogLevel::Warning,
                                    "Skip",
                                    "not restored: the server has a record with this id again"
                                        .to_owned(),
                                )
                            }
                            Written::NotFound { message, .. }
                            | Written::Refused { message, .. } => {
                                undone.skipped += 1;
                                (
                                    LogLevel::Error,
                                    "Fail",
                                    format!("not restored: the server refused it: {message}"),
                                )
                            }
                        };
                        log.push(
                            NewLog::new(&job_id, level, action, message)
                                .entity(&row.entity)
                                .record(&row.record_id),
                        );
                    }
                    job_log::append(conn, &log)?;
                    Ok::<_, EngineError>(undone)
                })
            })
            .await
    }
}

/// One batch of the job's deletions after `after`: the client's restored in this transaction
/// and marked, the server's given back to restore through the provider. The last quarantine
/// row read, `None` when nothing was left.
fn restore_client(
    conn: &mut DbConn,
    org_id: i64,
    job_id: &str,
    ids: Option<&[String]>,
    (after, batch): (i64, i64),
    max_bytes: usize,
) -> Result<(Undone, Option<i64>, Vec<QuarantineRow>), EngineError> {
    // Two calls at once take turns: the second finds the first's restores.
    orgs::lock(conn, org_id)?;
    let rows = quarantine::unrestored(conn, job_id, ids, after, batch)?;
    let last = rows.last().map(|r| r.id);
    let (client, server): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|r| r.side == quarantine::CLIENT);
    let mut undone = Undone::default();
    if client.is_empty() {
        return Ok((undone, last, server));
    }
    let defs: HashMap<String, _> = metadata::entities(conn, org_id)?
        .into_iter()
        .map(|d| (d.name.to_string(), d))
        .collect();
    let current = records::load_many(
        conn,
        org_id,
        client
            .iter()
            .map(|r| (r.entity.as_str(), r.record_id.as_str())),
    )?;
    let mut log = Vec::new();
    let mut ops = Vec::new();
    let mut restoring = Vec::new();
    for row in &client {
        let live = current
            .get(&(row.entity.clone(), row.record_id.clone()))
            .is_some_and(|r| !r.deleted);
        let id = RecordId::parse(&row.record_id).ok();
        let message = match (&id, live, defs.contains_key(&row.entity)) {
            (Some(id), false, true) => {
                ops.push(WriteOp {
                    entity: row.entity.clone(),
                    id: id.clone(),
                    kind: WriteKind::Create,
                    attributes: row.attributes.get().clone(),
                    text: None,
                    precondition: Precondition::None,
                    server_version: None,
                });
                restoring.push(row);
                continue;
            }
            (_, true, _) => "not restored: the client has a record with this id again",
            (_, _, false) => "not restored: the client no longer has this entity",
            (None, _, _) => "not restored: the id is not a valid record id",
        };
        undone.skipped += 1;
        log.push(
            NewLog::new(job_id, LogLevel::Warning, "Skip", message.to_owned())
                .entity(&row.entity)
                .record(&row.record_id),
        );
    }
    let (outcomes, captured) = write_and_capture(conn, org_id, &defs, &ops, max_bytes)?;
    let queued: std::collections::HashSet<(String, String)> = captured
        .iter()
        .map(|t| (t.entity.clone(), t.record_id.clone()))
        .collect();
    let now = now_micros();
    let mut by_entity: HashMap<&str, Vec<String>> = HashMap::new();
    for (row, outcome) in restoring.iter().zip(outcomes) {
        let (level, action, message) = match outcome {
            Ok(_) => {
                quarantine::mark_restored(conn, row.id, now)?;
                by_entity
                    .entry(row.entity.as_str())
                    .or_default()
                    .push(row.record_id.clone());
                undone.restored += 1;
                let how = if queued.contains(&(row.entity.clone(), row.record_id.clone())) {
                    "restored on the client; queued for the server"
                } else {
                    "restored on the client, as a local-only record (the link does not send outbound)"
                };
                (LogLevel::Info, "Restore", how.to_owned())
            }
            Err(e) => {
                undone.skipped += 1;
                (LogLevel::Error, "Fail", format!("not restored: {e}"))
            }
        };
        log.push(
            NewLog::new(job_id, level, action, message)
                .entity(&row.entity)
                .record(&row.record_id),
        );
    }
    // A restored record is the client's own until the server has it: no sync takes it for a
    // record that left the server.
    for (entity, ids) in by_entity {
        records::forget_server_version(conn, org_id, entity, &ids)?;
    }
    job_log::append(conn, &log)?;
    Ok((undone, last, server))
}
