//! A Send snapshot of one link: the server ends with exactly the client's in-scope records (of
//! those the filter takes). The client overrides: there is no conflict check.
//!
//! 1. The server's in-scope records are read in full and compared with the client's: equal
//!    ones need nothing, differing ones are remembered with their prior state, and the ones
//!    the client lacks are staged for deletion with theirs.
//! 2. The client's records are sent in client version order, in batches. Each batch is stored
//!    with its Idempotency-Key (and the prior state of what it overwrites goes to the
//!    quarantine) before it is sent; its answer, the records' new server versions and the
//!    link's checkpoint are recorded in one transaction. A crash resends the stored batch as
//!    it was and goes on from the checkpoint: nothing applies twice. Each record keeps the
//!    server version the Send made, so the next sync downloads none of its writes.
//! 3. The staged deletes are counted by the delete guard, then sent the same way.
//!
//! A full Send that completes ends the link's wait for one (`AwaitingSendSnapshot`), in the
//! same transaction that finds no client write newer than what it read: a later write is
//! captured, an earlier one was sent.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{link_scope, FullRead, Tally, Target};
use crate::db::connections::{self, ConnectionRow};
use crate::db::job_log::{self, NewLog};
use crate::db::quarantine::{self, NewQuarantine};
use crate::db::records::{self, RecordRow};
use crate::db::snapshots::{self, PendingBatch, SnapshotProgress};
use crate::db::staged::{self, StagedDelete};
use crate::db::transactions::{self as tx, Delivered};
use crate::db::{changes, micros_to_datetime, now_micros, orgs, write_tx, Json};
use crate::domain::filter::ValidFilters;
use crate::domain::jobs::LogLevel;
use crate::domain::safety::DeleteGuard;
use crate::providers::{RemoteChange, Written};
use crate::sync::download::log_planned;
use crate::sync::feed::with_stamps;
use crate::sync::plan::same_attributes;
use crate::sync::write::MAX_OPERATIONS;
use crate::sync::{EngineError, Pass};
use crate::wire::batch::{BatchOp, BatchOperation};

/// Rounds of resending what the server changed between the read and the write.
const STALE_ROUNDS: usize = 3;

/// What the read found of one server record.
#[derive(Debug, Clone)]
struct Seen {
    version: i64,
    /// The client's record was equal to it, at `client_version`.
    equal: bool,
    client_version: Option<i64>,
    /// The snapshot filter takes the server's record.
    matches: bool,
    /// The server's attributes, when the client's differ (or the client lacks the record).
    prior: Option<Map<String, Value>>,
    /// Staged for deletion: the client lacked it.
    staged: bool,
}

/// How a client record goes to the server.
enum Decision {
    Skip(&'static str),
    Unchanged,
    /// Upserted at the server's version it was read at (0: the server has none), overwriting
    /// `prior` when known; `None` prior with a version: read it before the write.
    Upsert {
        if_version: i64,
        prior: Option<Map<String, Value>>,
        /// The client's record as stored.
        attributes: Map<String, Value>,
    },
    /// Deleted on the client after the read: the server's record goes too.
    Delete,
}

pub struct Send<'a> {
    pass: Pass<'a>,
    target: Target,
    scope: Option<ValidFilters>,
    guard: DeleteGuard,
    approved: bool,
    dry_run: bool,
    index: HashMap<String, Seen>,
    progress: SnapshotProgress,
    /// A dry run's deletes on the server.
    dry_deletes: u64,
    pub held: bool,
    pub tally: Tally,
}

impl<'a> Send<'a> {
    pub fn new(
        pass: &Pass<'a>,
        target: Target,
        connection: &ConnectionRow,
        dry_run: bool,
    ) -> Result<Self, EngineError> {
        let scope = link_scope(&target.link, &target.def)?;
        let progress = SnapshotProgress::new(pass.report.job_id(), &target.link.entity);
        Ok(Self {
            pass: *pass,
            target,
            scope,
            guard: connection.guard(),
            approved: pass.report.deletes_approved(),
            dry_run,
            index: HashMap::new(),
            progress,
            dry_deletes: 0,
            held: false,
            tally: Tally::new(dry_run),
        })
    }

    fn entity(&self) -> &str {
        &self.target.link.entity
    }

    fn max_ops(&self) -> usize {
        (self.pass.engine.settings.sync_batch as usize).clamp(1, MAX_OPERATIONS)
    }

    pub async fn run(&mut self) -> Result<(), EngineError> {
        let (engine, ctx) = (self.pass.engine, self.pass.report);
        if !self.dry_run {
            let (job_id, entity) = (ctx.job_id().to_owned(), self.entity().to_owned());
            let stored = engine
                .db
                .run(move |conn| {
                    let stored = snapshots::get(conn, &job_id, &entity)?;
                    staged::drop_entity(conn, &job_id, &entity)?;
                    Ok::<_, EngineError>(stored)
                })
                .await?;
            if let Some(stored) = stored {
                self.progress = stored;
            }
            if self.progress.done {
                return Ok(());
            }
            // Sent before a crash, its answer unknown: sent again as it was.
            if let Some(pending) = self.progress.pending.clone() {
                self.send(pending.into_inner()).await?;
            }
        }
        self.read_server().await?;
        loop {
            self.send_client().await?;
            self.finish_deletes().await?;
            if self.held || self.dry_run || self.finished().await? {
                return Ok(());
            }
        }
    }

    /// Reads the server's in-scope records and compares each with the client's.
    async fn read_server(&mut self) -> Result<(), EngineError> {
        let mut read = FullRead::new(&self.pass, &self.target.link, "Read").await;
        while let Some(upserts) = read.next().await? {
            self.compare(upserts).await?;
        }
        Ok(())
    }

    async fn compare(&mut self, page: Vec<RemoteChange>) -> Result<(), EngineError> {
        let engine = self.pass.engine;
        let (org_id, entity) = (self.pass.org_id, self.entity().to_owned());
        let ids: Vec<String> = page.iter().map(|c| c.id.clone()).collect();
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
        let job_id = self.pass.report.job_id().to_owned();
        let mut staged = Vec::new();
        for c in page {
            let attributes = c.attributes.unwrap_or_default();
            let matches = self
                .target
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&attributes, c.modified_on));
            let live = current
                .get(&(self.entity().to_owned(), c.id.clone()))
                .filter(|r| !r.deleted);
            let seen = match live {
                None => {
                    if matches {
                        if self.dry_run {
                            self.tally.count("Delete", &c.id);
                        }
                        staged.push(StagedDelete {
                            job_id: job_id.clone(),
                            org_id,
                            entity: self.entity().to_owned(),
                            record_id: c.id.clone(),
                            server_version: Some(c.version),
                            reason: Some("not on the client".to_owned()),
                            prior: Some(Json::new(attributes.clone())),
                        });
                    }
                    Seen {
                        version: c.version,
                        equal: false,
                        client_version: None,
                        matches,
                        prior: Some(attributes),
                        staged: matches,
                    }
                }
                Some(row) => {
                    let equal = same_attributes(&self.target.def, &attributes, row);
                    Seen {
                        version: c.version,
                        equal,
                        client_version: Some(row.version),
                        matches,
                        prior: (!equal).then_some(attributes),
                        staged: false,
                    }
                }
            };
            self.index.insert(c.id, seen);
        }
        if self.dry_run {
            self.dry_deletes += staged.len() as u64;
            return Ok(());
        }
        engine
            .db
            .run(move |conn| staged::stage(conn, &staged))
            .await?;
        Ok(())
    }

    fn decide(&self, row: &RecordRow) -> Decision {
        let seen = self.index.get(&row.id);
        if row.deleted {
            return match seen {
                Some(s) if !s.staged && s.matches => Decision::Delete,
                _ => Decision::Skip("deleted on the client, not on the server"),
            };
        }
        let Ok(attributes) = records::stored_attributes(row) else {
            return Decision::Skip("its stored attributes do not read");
        };
        let (created, modified) = (
            micros_to_datetime(row.created_on),
            micros_to_datetime(row.modified_on),
        );
        let in_scope = self.scope.as_ref().is_none_or(|f| {
            f.matches(
                self.entity(),
                &with_stamps(attributes.clone(), created, modified),
                chrono::Utc::now(),
            )
        });
        if !in_scope && seen.is_none() {
            return Decision::Skip("outside the link's filter");
        }
        let wanted = self
            .target
            .filter
            .as_ref()
            .is_none_or(|f| f.matches(&attributes, modified))
            || seen.is_some_and(|s| s.matches);
        if !wanted {
            return Decision::Skip("outside the snapshot filter");
        }
        match seen {
            None => Decision::Upsert {
                if_version: 0,
                prior: None,
                attributes,
            },
            Some(s) if s.equal && s.client_version == Some(row.version) => Decision::Unchanged,
            Some(s) => Decision::Upsert {
                if_version: s.version,
                prior: s.prior.clone(),
                attributes,
            },
        }
    }

    /// Sends the client's records after the checkpoint, batch by batch.
    async fn send_client(&mut self) -> Result<(), EngineError> {
        let (engine, ctx) = (self.pass.engine, self.pass.report);
        let org_id = self.pass.org_id;
        let phase = format!("Send {}", self.entity());
        let mut sent = 0u64;
        loop {
            let (entity, after) = (self.entity().to_owned(), self.progress.after_version);
            let limit = self.max_ops() as i64;
            let (rows, tx_seq) = engine
                .db
                .run(move |conn| {
                    let seq = tx::last_seq(conn, org_id)?;
                    let rows = changes::since(conn, org_id, after, Some(&[entity]), false, limit)?;
                    Ok::<_, EngineError>((rows, seq))
                })
                .await?;
            let Some(last) = rows.last().map(|r| r.version) else {
                return Ok(());
            };
            ctx.checkpoint().await?;
            let mut operations = Vec::new();
            let mut client_versions = Vec::new();
            let mut overwritten = Vec::new();
            let mut deletes = Vec::new();
            let mut log = Vec::new();
            for row in &rows {
                match self.decide(row) {
                    Decision::Skip(why) => {
                        self.tally.count("Skip", &row.id);
                        log.push(self.line(
                            LogLevel::Info,
                            "Skip",
                            &row.id,
                            format!("not sent: {why}"),
                        ));
                    }
                    Decision::Unchanged => self.tally.count("Unchanged", &row.id),
                    Decision::Delete if self.dry_run => self.tally.count("Delete", &row.id),
                    Decision::Upsert { if_version, .. } if self.dry_run => {
                        self.tally
                            .count(if if_version == 0 { "Create" } else { "Update" }, &row.id);
                    }
                    Decision::Delete => {
                        let prior = match self.index.get(&row.id).and_then(|s| s.prior.clone()) {
                            Some(p) => Some(p),
                            None => self
                                .pass
                                .provider
                                .record(self.entity(), &row.id)
                                .await?
                                .map(|r| r.attributes),
                        };
                        let version = self.index.get(&row.id).map_or(0, |s| s.version);
                        if let Some(s) = self.index.get_mut(&row.id) {
                            s.staged = true;
                        }
                        deletes.push(StagedDelete {
                            job_id: ctx.job_id().to_owned(),
                            org_id,
                            entity: self.entity().to_owned(),
                            record_id: row.id.clone(),
                            server_version: Some(version),
                            reason: Some("deleted on the client".to_owned()),
                            prior: prior.map(Json::new),
                        });
                    }
                    Decision::Upsert {
                        if_version,
                        prior,
                        attributes,
                    } => {
                        let prior = match (prior, if_version) {
                            (Some(p), v) => Some((p, v)),
                            (None, 0) => None,
                            // Equal when read, changed on the client since: what the server
                            // holds now is what it overwrites.
                            (None, _) => self
                                .pass
                                .provider
                                .record(self.entity(), &row.id)
                                .await?
                                .map(|r| (r.attributes, r.version)),
                        };
                        if let Some((attributes, version)) = prior {
                            overwritten.push(self.kept(
                                &row.id,
                                quarantine::OVERWRITTEN,
                                attributes,
                                version,
                            ));
                        }
                        operations.push(self.upsert(row, attributes, if_version));
                        client_versions.push(row.version);
                    }
                }
            }
            sent += rows.len() as u64;
            if self.dry_run {
                self.progress.after_version = last;
                continue;
            }
            let pending = PendingBatch {
                key: uuid::Uuid::now_v7().to_string(),
                operations,
                client_versions,
                tx_seq,
                after_version: last,
            };
            self.store(pending.clone(), overwritten, deletes, log)
                .await?;
            self.send(pending).await?;
            ctx.progress(&phase, sent, sent).await?;
        }
    }

    fn line(&self, level: LogLevel, action: &str, id: &str, message: String) -> NewLog {
        self.pass
            .report
            .entry(level, action, message)
            .entity(self.entity())
            .record(id)
    }

    fn kept(
        &self,
        id: &str,
        action: &'static str,
        attributes: Map<String, Value>,
        version: i64,
    ) -> NewQuarantine {
        NewQuarantine {
            job_id: self.pass.report.job_id().to_owned(),
            org_id: self.pass.org_id,
            entity: self.entity().to_owned(),
            record_id: id.to_owned(),
            side: quarantine::SERVER,
            action,
            attributes: Json::new(attributes),
            version,
            created_on: now_micros(),
        }
    }

    /// The client's whole record, every attribute it lacks cleared, so the server's record
    /// ends equal to it.
    fn upsert(
        &self,
        row: &RecordRow,
        mut attributes: Map<String, Value>,
        if_version: i64,
    ) -> BatchOperation {
        for a in &self.target.def.attributes {
            attributes.entry(a.name.to_string()).or_insert(Value::Null);
        }
        BatchOperation {
            op: BatchOp::Upsert,
            entity: self.entity().to_owned(),
            id: row.id.clone(),
            attributes: Some(attributes),
            if_version: Some(if_version),
        }
    }

    /// Stores a batch before it is sent, with the prior state of what it overwrites and the
    /// deletes it found, in one transaction.
    async fn store(
        &mut self,
        pending: PendingBatch,
        kept: Vec<NewQuarantine>,
        deletes: Vec<StagedDelete>,
        log: Vec<NewLog>,
    ) -> Result<(), EngineError> {
        let mut progress = self.progress.clone();
        if pending.operations.is_empty() {
            progress.after_version = pending.after_version;
        } else {
            progress.pending = Some(Json::new(pending));
        }
        let n = kept.len() as u64;
        self.progress = self
            .pass
            .engine
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    quarantine::keep(conn, &kept)?;
                    staged::stage(conn, &deletes)?;
                    snapshots::save(conn, &progress)?;
                    job_log::append(conn, &log)?;
                    Ok::<_, EngineError>(progress)
                })
            })
            .await?;
        self.pass.engine.metrics.quarantined.inc_by(n);
        Ok(())
    }

    /// Sends a stored batch and records its answer; what the server changed between the read
    /// and the write is read again, kept, and sent again.
    async fn send(&mut self, mut pending: PendingBatch) -> Result<(), EngineError> {
        let engine = self.pass.engine;
        let (org_id, entity) = (self.pass.org_id, self.entity().to_owned());
        for round in 0.. {
            if pending.operations.is_empty() {
                break;
            }
            let results = self
                .pass
                .provider
                .write_batch(&pending.key, &pending.operations)
                .await?;
            let mut delivered = Vec::new();
            let mut settled = Vec::new();
            let mut removed = Vec::new();
            let mut unkept = Vec::new();
            let mut stale = Vec::new();
            let mut log = Vec::new();
            let mut outcomes = Vec::new();
            for ((op, written), client_version) in pending
                .operations
                .iter()
                .zip(results)
                .zip(&pending.client_versions)
            {
                let created = op.if_version == Some(0);
                match (op.op, written) {
                    (BatchOp::Upsert, Written::Applied { version }) => {
                        let version = version.unwrap_or(0);
                        let (action, message) = if created {
                            ("Create", "created on the server")
                        } else {
                            ("Update", "overwritten on the server; its prior state kept in the job's quarantine")
                        };
                        outcomes.push((action, op.id.clone()));
                        log.push(self.line(LogLevel::Info, action, &op.id, message.to_owned()));
                        delivered.push(Delivered {
                            ids: Vec::new(),
                            entity: entity.clone(),
                            record_id: op.id.clone(),
                            server_version: Some(version),
                        });
                        settled.push((op.id.clone(), version));
                        if let Some(s) = self.index.get_mut(&op.id) {
                            s.version = version;
                            s.equal = true;
                            s.client_version = Some(*client_version);
                            s.prior = None;
                        } else {
                            self.index.insert(
                                op.id.clone(),
                                Seen {
                                    version,
                                    equal: true,
                                    client_version: Some(*client_version),
                                    matches: true,
                                    prior: None,
                                    staged: false,
                                },
                            );
                        }
                    }
                    (BatchOp::Delete, Written::Applied { .. } | Written::NotFound { .. }) => {
                        outcomes.push(("Delete", op.id.clone()));
                        log.push(self.line(
                            LogLevel::Info,
                            "Delete",
                            &op.id,
                            "deleted on the server; kept in the job's quarantine".to_owned(),
                        ));
                        settled.push((op.id.clone(), 0));
                        removed.push(op.id.clone());
                    }
                    (BatchOp::Upsert, Written::Stale) if round < STALE_ROUNDS => {
                        stale.push((op.clone(), *client_version));
                    }
                    (BatchOp::Delete, Written::Stale) => {
                        outcomes.push(("Skip", op.id.clone()));
                        log.push(
                            self.line(
                                LogLevel::Info,
                                "Skip",
                                &op.id,
                                "kept on the server: it changed there after the snapshot read it"
                                    .to_owned(),
                            ),
                        );
                        removed.push(op.id.clone());
                        unkept.push(op.id.clone());
                    }
                    (_, other) => {
                        let why = match other {
                            Written::NotFound { message, .. }
                            | Written::Refused { message, .. } => message,
                            _ => "the server kept changing it".to_owned(),
                        };
                        outcomes.push(("Fail", op.id.clone()));
                        log.push(self.line(LogLevel::Error, "Fail", &op.id, why));
                        if op.op == BatchOp::Delete {
                            removed.push(op.id.clone());
                            unkept.push(op.id.clone());
                        }
                    }
                }
            }
            let mut progress = self.progress.clone();
            progress.after_version = progress.after_version.max(pending.after_version);
            progress.pending = None;
            let (job_id, tx_seq) = (self.pass.report.job_id().to_owned(), pending.tx_seq);
            let entity_ = entity.clone();
            self.progress = engine
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| {
                        tx::settle_delivered(conn, org_id, &delivered)?;
                        // Most records sent have no transaction to settle: look them up once.
                        let ids: Vec<&str> = settled.iter().map(|(id, _)| id.as_str()).collect();
                        let open = tx::with_open_changes(conn, org_id, &entity_, &ids)?;
                        for (id, version) in settled.iter().filter(|(id, _)| open.contains(id)) {
                            tx::settle_sent(conn, org_id, &entity_, id, tx_seq, *version)?;
                        }
                        staged::remove(conn, &job_id, &entity_, &removed)?;
                        quarantine::forget(conn, &job_id, quarantine::SERVER, &entity_, &unkept)?;
                        snapshots::save(conn, &progress)?;
                        job_log::append(conn, &log)?;
                        Ok::<_, EngineError>(progress)
                    })
                })
                .await?;
            for (action, id) in outcomes {
                self.tally.count(action, &id);
            }
            if stale.is_empty() {
                break;
            }
            // The server changed these after the read: what it holds now is kept, then
            // overwritten at its new version.
            let mut kept = Vec::new();
            let mut operations = Vec::new();
            let mut client_versions = Vec::new();
            for (mut op, client_version) in stale {
                let now = self.pass.provider.record(&entity, &op.id).await?;
                op.if_version = Some(now.as_ref().map_or(0, |r| r.version));
                if let Some(r) = now {
                    kept.push(self.kept(&op.id, quarantine::OVERWRITTEN, r.attributes, r.version));
                }
                operations.push(op);
                client_versions.push(client_version);
            }
            pending = PendingBatch {
                key: uuid::Uuid::now_v7().to_string(),
                operations,
                client_versions,
                tx_seq: pending.tx_seq,
                after_version: pending.after_version,
            };
            self.store(pending.clone(), kept, Vec::new(), Vec::new())
                .await?;
        }
        Ok(())
    }

    /// Counts the staged deletes against the guard (the server's side), then sends them or
    /// holds the job.
    async fn finish_deletes(&mut self) -> Result<(), EngineError> {
        let (engine, ctx) = (self.pass.engine, self.pass.report);
        let planned = if self.dry_run {
            self.dry_deletes
        } else {
            let (job_id, entity) = (ctx.job_id().to_owned(), self.entity().to_owned());
            engine
                .db
                .run(move |conn| staged::count(conn, &job_id, &entity))
                .await?
        };
        if planned == 0 {
            return Ok(());
        }
        let holding = self
            .pass
            .provider
            .count(self.entity())
            .await
            .ok()
            .flatten()
            .unwrap_or(u64::MAX);
        if !self.approved && self.guard.holds(planned, holding) {
            self.tally.summary.planned_deletes = planned;
            let of = if holding == u64::MAX {
                String::new()
            } else {
                format!(" of the {holding} records the server holds")
            };
            let message = if self.dry_run {
                format!(
                    "DryRun: the delete guard ({}) would hold the Send's {planned} deletes{of}",
                    self.guard
                )
            } else {
                self.held = true;
                format!(
                    "held: the Send would delete {planned}{of} on the server, across the delete \
                     guard ({}); none is sent until the job is approved",
                    self.guard
                )
            };
            let warning = ctx
                .entry(LogLevel::Warning, "DeleteGuard", message)
                .entity(self.entity());
            ctx.log(vec![warning]).await?;
            if !self.dry_run {
                log_planned(engine, ctx, self.entity(), |s| {
                    format!(
                        "planned delete on the server ({}), held by the delete guard",
                        s.reason.as_deref().unwrap_or("not on the client")
                    )
                })
                .await?;
            }
            return Ok(());
        }
        if self.dry_run {
            return Ok(());
        }
        let limit = self.max_ops() as i64;
        loop {
            let (job_id, entity) = (ctx.job_id().to_owned(), self.entity().to_owned());
            let org_id = self.pass.org_id;
            let (next, tx_seq) = engine
                .db
                .run(move |conn| {
                    let seq = tx::last_seq(conn, org_id)?;
                    let next = staged::next(conn, &job_id, &entity, "", limit)?;
                    Ok::<_, EngineError>((next, seq))
                })
                .await?;
            if next.is_empty() {
                return Ok(());
            }
            ctx.checkpoint().await?;
            let mut kept = Vec::new();
            let mut operations = Vec::new();
            for s in &next {
                let version = s.server_version.unwrap_or(0);
                if let Some(prior) = &s.prior {
                    kept.push(self.kept(
                        &s.record_id,
                        quarantine::DELETED,
                        prior.get().clone(),
                        version,
                    ));
                }
                operations.push(BatchOperation {
                    op: BatchOp::Delete,
                    entity: s.entity.clone(),
                    id: s.record_id.clone(),
                    attributes: None,
                    if_version: s.server_version,
                });
            }
            let pending = PendingBatch {
                key: uuid::Uuid::now_v7().to_string(),
                client_versions: vec![0; operations.len()],
                operations,
                tx_seq,
                after_version: self.progress.after_version,
            };
            self.store(pending.clone(), kept, Vec::new(), Vec::new())
                .await?;
            self.send(pending).await?;
        }
    }

    /// Done when no client write is newer than what the Send read; a full Send then ends the
    /// link's wait for one, in the same transaction (under the org's lock, which every client
    /// write takes), so each later write is captured.
    async fn finished(&mut self) -> Result<bool, EngineError> {
        let engine = self.pass.engine;
        let (org_id, entity) = (self.pass.org_id, self.entity().to_owned());
        let full = self.target.filter.is_none();
        let mut progress = self.progress.clone();
        progress.done = true;
        let done = engine
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    orgs::lock(conn, org_id)?;
                    let newer = changes::since(
                        conn,
                        org_id,
                        progress.after_version,
                        Some(std::slice::from_ref(&entity)),
                        false,
                        1,
                    )?;
                    if !newer.is_empty() {
                        return Ok::<_, EngineError>(None);
                    }
                    snapshots::save(conn, &progress)?;
                    if full {
                        if let Some(mut link) = connections::link(conn, org_id, &entity)? {
                            if link.awaiting_send {
                                link.awaiting_send = false;
                                connections::save_link(conn, &link)?;
                                return Ok(Some((progress, true)));
                            }
                        }
                    }
                    Ok(Some((progress, false)))
                })
            })
            .await?;
        let Some((progress, reenabled)) = done else {
            return Ok(false);
        };
        self.progress = progress;
        if reenabled {
            self.pass
                .report
                .log(vec![self
                    .pass
                    .report
                    .entry(
                        LogLevel::Info,
                        "Outbound",
                        "Outbound is on again: client writes from now on are captured and \
                         delivered by the next sync"
                            .to_owned(),
                    )
                    .entity(self.entity())])
                .await?;
        }
        Ok(true)
    }
}
