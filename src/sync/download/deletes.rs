//! The end of a link's pass: the deletes it staged, counted by the delete guard and then made
//! in batches, each record kept in the job's quarantine in the same transaction as its delete.
//! Over the guard's threshold none is made: the job is held until it is approved or cancelled.

use std::collections::HashMap;

use serde_json::Map;

use super::Download;
use crate::db::job_log::{self, NewLog};
use crate::db::quarantine::{self, NewQuarantine};
use crate::db::records::{self, Applied, Precondition, WriteKind, WriteOp};
use crate::db::staged::{self, StagedDelete};
use crate::db::{now_micros, orgs, transactions, write_tx, Json};
use crate::domain::jobs::LogLevel;
use crate::domain::metadata::EntityDef;
use crate::domain::names::RecordId;
use crate::domain::setup::SyncMode;
use crate::domain::transaction::Resolution;
use crate::sync::{Engine, EngineError, Report};

impl Download<'_> {
    /// Counts the staged deletes against the guard, then makes them or holds the job.
    pub(super) async fn finish_deletes(&mut self) -> Result<(), EngineError> {
        if self.dry_run {
            return self.dry_guard().await;
        }
        let (org_id, entity, job_id) = (
            self.org_id,
            self.entity().to_owned(),
            self.ctx.job_id().to_owned(),
        );
        // Most passes stage nothing: the records are counted only when there is something to
        // weigh them against.
        let (planned, holding) = self
            .engine
            .db
            .run(move |conn| {
                let planned = staged::count(conn, &job_id, &entity)?;
                let holding = if planned == 0 {
                    0
                } else {
                    records::count(conn, org_id, &entity)?
                };
                Ok::<_, EngineError>((planned, holding))
            })
            .await?;
        if planned == 0 {
            return Ok(());
        }
        if !self.approved && self.guard.holds(planned, holding) {
            return self.hold(planned, holding).await;
        }
        let batch = i64::from(self.engine.settings.sync_batch);
        loop {
            let (entity, job_id) = (self.entity().to_owned(), self.ctx.job_id().to_owned());
            let next = self
                .engine
                .db
                .run(move |conn| staged::next(conn, &job_id, &entity, "", batch))
                .await?;
            if next.is_empty() {
                break;
            }
            self.ctx.checkpoint().await?;
            self.delete(next).await?;
        }
        Ok(())
    }

    /// Holds the link's deletes: the summary and the log name every one, and none is made.
    async fn hold(&mut self, planned: u64, holding: u64) -> Result<(), EngineError> {
        self.held = true;
        self.summary.planned_deletes = planned;
        let warning = self
            .ctx
            .entry(
                LogLevel::Warning,
                "DeleteGuard",
                format!(
                    "held: {planned} deletes of the {holding} records the client holds cross the \
                     delete guard ({}); none is made until the job is approved",
                    self.guard
                ),
            )
            .entity(self.entity());
        self.ctx.log(vec![warning]).await?;
        log_planned(self.engine, self.ctx, self.entity(), planned_message).await
    }

    /// Makes one batch of staged deletes: each record still as the stage found it is kept in
    /// the quarantine and deleted, in one transaction with the removal of the batch's stage.
    async fn delete(&mut self, batch: Vec<StagedDelete>) -> Result<(), EngineError> {
        let rules = Rules::Sync {
            mirror: self.mode == SyncMode::Mirror,
        };
        let (outcomes, kept) = delete_staged(
            self.engine,
            self.org_id,
            self.def,
            self.ctx.job_id(),
            batch,
            rules,
        )
        .await?;
        self.engine.metrics.quarantined.inc_by(kept as u64);
        for (action, id) in outcomes {
            self.count(action, &id);
        }
        Ok(())
    }

    /// A dry run's end of a link's pass: what the guard would hold.
    async fn dry_guard(&mut self) -> Result<(), EngineError> {
        if self.dry_deletes == 0 {
            return Ok(());
        }
        let (org_id, entity) = (self.org_id, self.entity().to_owned());
        let holding = self
            .engine
            .db
            .run(move |conn| records::count(conn, org_id, &entity))
            .await?;
        if self.approved || !self.guard.holds(self.dry_deletes, holding) {
            return Ok(());
        }
        self.summary.planned_deletes = self.dry_deletes;
        let line = self
            .ctx
            .entry(
                LogLevel::Warning,
                "DeleteGuard",
                format!(
                    "DryRun: the delete guard ({}) would hold the {} deletes of the {holding} \
                     records the client holds",
                    self.guard, self.dry_deletes
                ),
            )
            .entity(self.entity());
        self.ctx.log(vec![line]).await
    }
}

fn planned_message(s: &StagedDelete) -> String {
    format!(
        "planned delete ({}), held by the delete guard",
        s.reason.as_deref().unwrap_or("deleted on the server")
    )
}

/// What keeps a staged delete from being made.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rules {
    /// A sync's: local-only records, an Additive sync, undelivered client changes and a newer
    /// server version keep the record.
    Sync { mirror: bool },
    /// A Get snapshot's: nothing keeps it; the client's undelivered changes to it are archived
    /// (`OverriddenBySnapshot`).
    Snapshot,
}

/// Makes one batch of staged deletes on the client: each record still as the stage found it
/// (and as `rules` allow) is kept in the quarantine and deleted, in one transaction with the
/// removal of the batch's stage. Gives each record's action and how many were kept.
pub(crate) async fn delete_staged(
    engine: &Engine,
    org_id: i64,
    def: &EntityDef,
    job_id: &str,
    batch: Vec<StagedDelete>,
    rules: Rules,
) -> Result<(Vec<(&'static str, String)>, usize), EngineError> {
    let (def, job_id) = (def.clone(), job_id.to_owned());
    let max_bytes = engine.settings.record_max_bytes;
    engine
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let org = orgs::lock(conn, org_id)?;
                let entity = def.name.as_str();
                let current = records::load_many(
                    conn,
                    org_id,
                    batch.iter().map(|s| (entity, s.record_id.as_str())),
                )?;
                let ids: Vec<&str> = batch.iter().map(|s| s.record_id.as_str()).collect();
                let open = transactions::with_open_changes(conn, org_id, entity, &ids)?;
                let now = now_micros();
                let mut ops = Vec::new();
                let mut kept = Vec::new();
                let mut outcomes = Vec::new();
                let mut log = Vec::new();
                let mut overridden = Vec::new();
                let mut line = |level, action: &'static str, s: &StagedDelete, message: String| {
                    log.push(
                        NewLog::new(&job_id, level, action, message)
                            .entity(entity)
                            .record(&s.record_id),
                    );
                    outcomes.push((action, s.record_id.clone()));
                };
                for s in &batch {
                    let row = current
                        .get(&(entity.to_owned(), s.record_id.clone()))
                        .filter(|r| !r.deleted);
                    let Some(row) = row else { continue };
                    let newer = matches!(
                        (row.server_version, s.server_version),
                        (Some(have), Some(gone)) if have > gone
                    );
                    let keep = match rules {
                        Rules::Snapshot => None,
                        Rules::Sync { .. } if row.server_version.is_none() => Some((
                            "LocalOnly",
                            "kept: a client record that never came from the server",
                        )),
                        Rules::Sync { mirror: false } => {
                            Some(("Skip", "kept: an Additive sync never deletes"))
                        }
                        Rules::Sync { .. } if open.contains(&s.record_id) => Some((
                            "Skip",
                            "kept: the client's changes to it are not delivered yet",
                        )),
                        Rules::Sync { .. } if newer => {
                            Some(("Skip", "kept: the server changed it again after the delete"))
                        }
                        Rules::Sync { .. } => None,
                    };
                    if let Some((action, why)) = keep {
                        line(LogLevel::Info, action, s, why.to_owned());
                    } else if let Ok(id) = RecordId::parse(&s.record_id) {
                        if open.contains(&s.record_id) {
                            overridden.push(s.record_id.clone());
                        }
                        kept.push(NewQuarantine {
                            job_id: job_id.clone(),
                            org_id,
                            entity: entity.to_owned(),
                            record_id: s.record_id.clone(),
                            side: quarantine::CLIENT,
                            action: quarantine::DELETED,
                            attributes: Json::new(records::stored_attributes(row)?),
                            version: row.version,
                            created_on: now,
                        });
                        ops.push((
                            s,
                            WriteOp {
                                entity: entity.to_owned(),
                                id,
                                kind: WriteKind::Delete,
                                attributes: Map::new(),
                                text: None,
                                precondition: Precondition::None,
                                server_version: s.server_version,
                            },
                        ));
                    }
                }
                quarantine::keep(conn, &kept)?;
                let writes: Vec<WriteOp> = ops.iter().map(|(_, op)| op.clone()).collect();
                let defs = HashMap::from([(def.name.to_string(), def.clone())]);
                let applied =
                    records::apply_locked(conn, &org, &defs, &writes, current, max_bytes)?;
                for ((s, _), outcome) in ops.iter().zip(applied) {
                    match outcome {
                        Ok(Applied::Deleted(_)) => line(
                            LogLevel::Info,
                            "Delete",
                            s,
                            format!(
                                "deleted ({}); kept in the job's quarantine",
                                s.reason.as_deref().unwrap_or("deleted on the server")
                            ),
                        ),
                        Ok(_) => line(LogLevel::Error, "Fail", s, "not deleted".to_owned()),
                        Err(e) => line(LogLevel::Error, "Fail", s, e.to_string()),
                    }
                }
                transactions::archive_open(
                    conn,
                    org_id,
                    entity,
                    &overridden,
                    Resolution::OverriddenBySnapshot,
                )?;
                let ids: Vec<String> = batch.iter().map(|s| s.record_id.clone()).collect();
                staged::remove(conn, &job_id, entity, &ids)?;
                job_log::append(conn, &log)?;
                Ok::<_, EngineError>((outcomes, kept.len()))
            })
        })
        .await
}

/// Logs one `Planned` line for each delete of `entity` the job staged.
pub(crate) async fn log_planned(
    engine: &Engine,
    ctx: &dyn Report,
    entity: &str,
    message: impl Fn(&StagedDelete) -> String,
) -> Result<(), EngineError> {
    let mut after = String::new();
    loop {
        let (entity, job_id, from) = (entity.to_owned(), ctx.job_id().to_owned(), after.clone());
        let next = engine
            .db
            .run(move |conn| staged::next(conn, &job_id, &entity, &from, 1000))
            .await?;
        let Some(last) = next.last() else { break };
        after = last.record_id.clone();
        let lines = next
            .iter()
            .map(|s| {
                ctx.entry(LogLevel::Info, "Planned", message(s))
                    .entity(&s.entity)
                    .record(&s.record_id)
            })
            .collect();
        ctx.log(lines).await?;
    }
    Ok(())
}
