//! A Get snapshot of one link: the client ends with exactly the server's in-scope records (of
//! those the filter takes). It reads the server in full and writes what differs, overriding
//! the client's changes: a record the client deleted comes back, its undelivered transactions
//! are archived (`OverriddenBySnapshot`), and what the client holds that the server lacks is
//! deleted, local-only records too. Everything it overwrites or deletes goes to the job's
//! quarantine first; the deletes are staged and counted by the delete guard before any is made.
//!
//! A retried or approved job reads the link again from the start: what it wrote is equal by
//! then, so nothing is written twice.

use std::collections::{HashMap, HashSet};

use super::{FullRead, Tally, Target};
use crate::db::connections::{self, ConnectionRow};
use crate::db::job_log::{self, NewLog};
use crate::db::quarantine::{self, NewQuarantine};
use crate::db::records::{self, Applied, RecordRow};
use crate::db::staged::{self, StagedDelete};
use crate::db::{micros_to_datetime, orgs, transactions, write_tx, Json};
use crate::domain::jobs::LogLevel;
use crate::domain::safety::DeleteGuard;
use crate::domain::setup::SyncMode;
use crate::domain::transaction::Resolution;
use crate::providers::RemoteChange;
use crate::sync::download::{delete_staged, log_planned, Rules};
use crate::sync::plan::{plan, prepare, Plan};
use crate::sync::{EngineError, Pass};

pub struct Get<'a> {
    pass: Pass<'a>,
    target: Target,
    guard: DeleteGuard,
    approved: bool,
    dry_run: bool,
    /// The server's ids the read has seen: the client's others are deleted at its end.
    seen: HashSet<String>,
    /// A dry run's deletes.
    dry_deletes: u64,
    pub held: bool,
    pub tally: Tally,
}

impl<'a> Get<'a> {
    pub fn new(pass: &Pass<'a>, target: Target, connection: &ConnectionRow, dry_run: bool) -> Self {
        Self {
            pass: *pass,
            target,
            guard: connection.guard(),
            approved: pass.report.deletes_approved(),
            dry_run,
            seen: HashSet::new(),
            dry_deletes: 0,
            held: false,
            tally: Tally::new(dry_run),
        }
    }

    fn entity(&self) -> &str {
        &self.target.link.entity
    }

    pub async fn run(&mut self) -> Result<(), EngineError> {
        let (engine, ctx) = (self.pass.engine, self.pass.report);
        if !self.dry_run {
            let (job_id, entity) = (ctx.job_id().to_owned(), self.entity().to_owned());
            engine
                .db
                .run(move |conn| staged::drop_entity(conn, &job_id, &entity))
                .await?;
        }
        let mut read = FullRead::new(&self.pass, &self.target.link, "Get").await;
        while let Some(upserts) = read.next().await? {
            self.seen.extend(upserts.iter().map(|c| c.id.clone()));
            self.apply(upserts).await?;
        }
        let token = read.token();
        self.sweep().await?;
        self.finish_deletes().await?;
        if self.dry_run || self.held || self.target.filter.is_some() {
            return Ok(());
        }
        // A full Get leaves the client as the server was at the end of its read: the link's
        // next sync reads from there.
        let (org_id, entity) = (self.pass.org_id, self.entity().to_owned());
        let read_with = self.target.link.sync_filter.clone();
        engine
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let Some(mut stored) = connections::link(conn, org_id, &entity)? else {
                        return Ok::<_, EngineError>(());
                    };
                    // The switches and filters stay as they are now.
                    stored.checkpoint = token;
                    // A filter changed since the read began still needs its full read.
                    stored.needs_full = stored.sync_filter != read_with;
                    stored.full_running = false;
                    stored.full_token = None;
                    stored.sweep = false;
                    stored.last_sync_on = Some(crate::db::now_micros());
                    connections::clear_seen(conn, org_id, &entity)?;
                    connections::save_link(conn, &stored)?;
                    Ok(())
                })
            })
            .await
    }

    /// Is a record touched by the snapshot: always without a filter, else when the server's
    /// version or the client's matches it.
    fn takes(&self, change: &RemoteChange, client: Option<&RecordRow>) -> bool {
        let Some(filter) = &self.target.filter else {
            return true;
        };
        let server = change.attributes.clone().unwrap_or_default();
        filter.matches(&server, change.modified_on)
            || client.is_some_and(|row| {
                records::stored_attributes(row)
                    .is_ok_and(|a| filter.matches(&a, micros_to_datetime(row.modified_on)))
            })
    }

    /// Writes a page of the server's records where the client differs, in one transaction:
    /// the prior state of what it overwrites kept, undelivered client changes archived.
    async fn apply(&mut self, changes: Vec<RemoteChange>) -> Result<(), EngineError> {
        let (engine, ctx) = (self.pass.engine, self.pass.report);
        let org_id = self.pass.org_id;
        let def = self.target.def.clone();
        let entity = def.name.to_string();
        let (job_id, dry_run) = (ctx.job_id().to_owned(), self.dry_run);
        let max_bytes = engine.settings.record_max_bytes;
        let taken = {
            let entity = entity.clone();
            let ids: Vec<String> = changes.iter().map(|c| c.id.clone()).collect();
            let current = engine
                .db
                .run(move |conn| {
                    records::load_many(
                        conn,
                        org_id,
                        ids.iter().map(|i| (entity.as_str(), i.as_str())),
                    )
                })
                .await?;
            changes
                .into_iter()
                .filter(|c| {
                    let live = current
                        .get(&(def.name.to_string(), c.id.clone()))
                        .filter(|r| !r.deleted);
                    self.takes(c, live)
                })
                .collect::<Vec<_>>()
        };
        if taken.is_empty() {
            return Ok(());
        }
        let outcomes = engine
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let org = orgs::lock(conn, org_id)?;
                    let current = records::load_many(
                        conn,
                        org_id,
                        taken.iter().map(|c| (entity.as_str(), c.id.as_str())),
                    )?;
                    let ids: Vec<&str> = taken.iter().map(|c| c.id.as_str()).collect();
                    let open = transactions::with_open_changes(conn, org_id, &entity, &ids)?;
                    let now = crate::db::now_micros();
                    let mut ops = Vec::new();
                    let mut kept = Vec::new();
                    let mut outcomes = Vec::new();
                    let mut log = Vec::new();
                    let mut line = |level, action: &'static str, id: &str, message: String| {
                        log.push(
                            NewLog::new(&job_id, level, action, message)
                                .entity(&entity)
                                .record(id),
                        );
                        outcomes.push((action, id.to_owned()));
                    };
                    let mut overridden = Vec::new();
                    for c in taken {
                        let id = c.id.clone();
                        let live = current
                            .get(&(entity.clone(), id.clone()))
                            .filter(|r| !r.deleted);
                        if open.contains(&id) {
                            overridden.push(id.clone());
                        }
                        match plan(&def, SyncMode::Mirror, prepare(&def, c), &current) {
                            Plan::Write(op) => {
                                if let Some(row) = live {
                                    kept.push(NewQuarantine {
                                        job_id: job_id.clone(),
                                        org_id,
                                        entity: entity.clone(),
                                        record_id: id.clone(),
                                        side: quarantine::CLIENT,
                                        action: quarantine::OVERWRITTEN,
                                        attributes: Json::new(records::stored_attributes(row)?),
                                        version: row.version,
                                        created_on: now,
                                    });
                                }
                                ops.push((id, live.is_some(), op));
                            }
                            Plan::Unchanged => line(
                                LogLevel::Info,
                                "Unchanged",
                                &id,
                                "already as the server has it".to_owned(),
                            ),
                            Plan::Fail(why) => line(LogLevel::Error, "Fail", &id, why),
                            _ => {}
                        }
                    }
                    if dry_run {
                        for (id, existed, _) in &ops {
                            let (action, message) = if *existed {
                                ("Update", "DryRun: would be overwritten on the client")
                            } else {
                                ("Create", "DryRun: would be created on the client")
                            };
                            line(LogLevel::Info, action, id, message.to_owned());
                        }
                        job_log::append(conn, &log)?;
                        return Ok::<_, EngineError>((outcomes, 0));
                    }
                    quarantine::keep(conn, &kept)?;
                    let (ids, writes): (Vec<String>, Vec<_>) =
                        ops.into_iter().map(|(id, _, op)| (id, op)).unzip();
                    let defs = HashMap::from([(entity.clone(), def.clone())]);
                    let applied =
                        records::apply_locked(conn, &org, &defs, &writes, current, max_bytes)?;
                    for (id, outcome) in ids.iter().zip(applied) {
                        match outcome {
                            Ok(Applied::Created(_)) => {
                                line(LogLevel::Info, "Create", id, "created".to_owned())
                            }
                            Ok(_) => line(
                                LogLevel::Info,
                                "Update",
                                id,
                                "overwritten with the server's record; the client's kept in the \
                                 job's quarantine"
                                    .to_owned(),
                            ),
                            Err(e) => line(LogLevel::Error, "Fail", id, e.to_string()),
                        }
                    }
                    transactions::archive_open(
                        conn,
                        org_id,
                        &entity,
                        &overridden,
                        Resolution::OverriddenBySnapshot,
                    )?;
                    for id in &overridden {
                        line(
                            LogLevel::Info,
                            "Override",
                            id,
                            "the client's undelivered changes are archived (OverriddenBySnapshot)"
                                .to_owned(),
                        );
                    }
                    job_log::append(conn, &log)?;
                    Ok((outcomes, kept.len()))
                })
            })
            .await?;
        let (outcomes, kept) = outcomes;
        engine.metrics.quarantined.inc_by(kept as u64);
        for (action, id) in outcomes {
            engine.metrics.wrote(action);
            self.tally.count(action, &id);
        }
        Ok(())
    }

    /// Stages the deletes of the client's records the server lacks (of those the filter takes).
    async fn sweep(&mut self) -> Result<(), EngineError> {
        let engine = self.pass.engine;
        let (org_id, job_id) = (self.pass.org_id, self.pass.report.job_id().to_owned());
        let batch = i64::from(engine.settings.sync_batch);
        let mut after: Option<String> = None;
        loop {
            let (entity, from) = (self.entity().to_owned(), after.clone());
            let rows = engine
                .db
                .run(move |conn| records::list(conn, org_id, &entity, from.as_deref(), batch))
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id.clone());
            let gone: Vec<StagedDelete> = rows
                .iter()
                .filter(|r| !self.seen.contains(&r.id))
                .filter(|r| {
                    self.target.filter.as_ref().is_none_or(|f| {
                        records::stored_attributes(r)
                            .is_ok_and(|a| f.matches(&a, micros_to_datetime(r.modified_on)))
                    })
                })
                .map(|r| StagedDelete {
                    job_id: job_id.clone(),
                    org_id,
                    entity: r.entity.clone(),
                    record_id: r.id.clone(),
                    server_version: None,
                    reason: Some("not on the server".to_owned()),
                    prior: None,
                })
                .collect();
            if self.dry_run {
                self.dry_deletes += gone.len() as u64;
                for s in &gone {
                    self.tally.count("Delete", &s.record_id);
                }
                continue;
            }
            engine
                .db
                .run(move |conn| staged::stage(conn, &gone))
                .await?;
        }
        Ok(())
    }

    /// Counts the staged deletes against the guard, then makes them or holds the job.
    async fn finish_deletes(&mut self) -> Result<(), EngineError> {
        let (engine, ctx) = (self.pass.engine, self.pass.report);
        let (org_id, entity, job_id) = (
            self.pass.org_id,
            self.entity().to_owned(),
            ctx.job_id().to_owned(),
        );
        let (planned, holding) = {
            let dry = self.dry_run.then_some(self.dry_deletes);
            engine
                .db
                .run(move |conn| {
                    let planned = match dry {
                        Some(n) => n,
                        None => staged::count(conn, &job_id, &entity)?,
                    };
                    let holding = if planned == 0 {
                        0
                    } else {
                        records::count(conn, org_id, &entity)?
                    };
                    Ok::<_, EngineError>((planned, holding))
                })
                .await?
        };
        if planned == 0 {
            return Ok(());
        }
        if !self.approved && self.guard.holds(planned, holding) {
            self.tally.summary.planned_deletes = planned;
            let message = if self.dry_run {
                format!(
                    "DryRun: the delete guard ({}) would hold the {planned} deletes of the \
                     {holding} records the client holds",
                    self.guard
                )
            } else {
                self.held = true;
                format!(
                    "held: the Get would delete {planned} of the {holding} records the client \
                     holds, across the delete guard ({}); none is made until the job is approved",
                    self.guard
                )
            };
            let warning = ctx
                .entry(LogLevel::Warning, "DeleteGuard", message)
                .entity(self.entity());
            ctx.log(vec![warning]).await?;
            if !self.dry_run {
                log_planned(engine, ctx, self.entity(), |_| {
                    "planned delete (not on the server), held by the delete guard".to_owned()
                })
                .await?;
            }
            return Ok(());
        }
        if self.dry_run {
            return Ok(());
        }
        let batch = i64::from(engine.settings.sync_batch);
        loop {
            let (entity, job_id) = (self.entity().to_owned(), ctx.job_id().to_owned());
            let next = engine
                .db
                .run(move |conn| staged::next(conn, &job_id, &entity, "", batch))
                .await?;
            if next.is_empty() {
                break;
            }
            ctx.checkpoint().await?;
            let (outcomes, kept) = delete_staged(
                engine,
                org_id,
                &self.target.def,
                ctx.job_id(),
                next,
                Rules::Snapshot,
            )
            .await?;
            engine.metrics.quarantined.inc_by(kept as u64);
            for (action, id) in outcomes {
                engine.metrics.wrote(action);
                self.tally.count(action, &id);
            }
        }
        Ok(())
    }
}
