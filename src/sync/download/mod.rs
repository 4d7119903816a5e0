//! The download of one link: the server's changes since the link's checkpoint, through the
//! link's filter, applied to the client in batches. Each batch and the new checkpoint are
//! committed in one transaction, so a crash resumes from the last batch and nothing applies
//! twice. A full read keeps its own token; when the client already held records, the ids it
//! sees are kept so that at its end the records the server lacks are found (Mirror deletes the
//! ones that came from the server; local-only ones stay in every mode).
//!
//! Deletes are staged with the batch that found them and made at the end of the link's pass,
//! once the delete guard has counted them all ([`deletes`]); the first read of a link with
//! `MatchOn` adopts the client's existing records ([`adopt`]).

mod adopt;
mod deletes;
mod dry_run;
mod items;
mod page;

use std::collections::{BTreeMap, HashMap, HashSet};

pub(crate) use deletes::{delete_staged, log_planned, Rules};

use serde_json::Value;

use super::plan::{plan, Plan, Prepared};
use super::{Engine, EngineError, Pass, Report};
use crate::db::connections::{self, ConnectionRow, LinkRow};
use crate::db::job_log::{self, NewLog};
use crate::db::records::{self, Applied, WriteOp};
use crate::db::staged::{self, StagedDelete};
use crate::db::{now_micros, orgs, transactions, write_tx};
use crate::domain::jobs::{EntitySummary, LogLevel};
use crate::domain::metadata::EntityDef;
use crate::domain::names::LogicalName;
use crate::domain::safety::DeleteGuard;
use crate::domain::setup::{ConflictPolicy, SyncMode};
use crate::providers::{ChangesQuery, Provider, ProviderError, RemoteChange};
use crate::wire::changes::ChangeOp;

/// How many first ids a dry run reports per action.
const FIRST_IDS: usize = 10;

pub struct Download<'a> {
    engine: &'a Engine,
    ctx: &'a dyn Report,
    provider: &'a dyn Provider,
    org_id: i64,
    def: &'a EntityDef,
    link: LinkRow,
    mode: SyncMode,
    policy: ConflictPolicy,
    guard: DeleteGuard,
    /// The attributes that adopt existing client records on the link's first read (MatchOn).
    match_on: Option<Vec<LogicalName>>,
    /// The job was approved after the guard held it: its staged deletes go through.
    approved: bool,
    /// The guard held this link's deletes: the job ends `Held`.
    held: bool,
    /// The server records the link's first read adopted client records for (MatchOn): the
    /// read leaves them as the adoption merged them.
    adopted: HashSet<String>,
    dry_run: bool,
    /// A dry run's deletes, for what the guard would hold.
    dry_deletes: u64,
    summary: EntitySummary,
    /// The link's filter in its JSON form, as the server reads it.
    filter_json: Option<Value>,
    /// A dry run's full read: the ids seen, to tell what a sweep would remove.
    dry_seen: HashSet<String>,
    first_ids: BTreeMap<String, Vec<String>>,
}

impl<'a> Download<'a> {
    pub fn new(
        pass: &Pass<'a>,
        def: &'a EntityDef,
        link: LinkRow,
        connection: &ConnectionRow,
        dry_run: bool,
    ) -> Self {
        let Pass {
            engine,
            report: ctx,
            provider,
            org_id,
        } = *pass;
        let filter_json = link
            .sync_filter
            .as_ref()
            .map(|f| serde_json::json!({ link.entity.clone(): f.get() }));
        Self {
            engine,
            ctx,
            provider,
            org_id,
            def,
            match_on: connection
                .match_on
                .as_ref()
                .and_then(|m| m.get().attributes(&link.entity).map(<[_]>::to_vec)),
            link,
            mode: connection.sync_mode,
            policy: connection.conflict_policy,
            guard: connection.guard(),
            approved: ctx.deletes_approved(),
            held: false,
            adopted: HashSet::new(),
            dry_run,
            dry_deletes: 0,
            summary: EntitySummary::default(),
            filter_json,
            dry_seen: HashSet::new(),
            first_ids: BTreeMap::new(),
        }
    }

    pub fn into_summary(mut self) -> EntitySummary {
        if self.dry_run {
            self.summary.first_ids = Some(std::mem::take(&mut self.first_ids));
        }
        self.summary
    }

    /// The delete guard held this link's deletes.
    pub fn held(&self) -> bool {
        self.held
    }

    fn entity(&self) -> &str {
        &self.link.entity
    }

    /// Incremental from the checkpoint, or full when asked, when the link needs it, or when
    /// the server's token expired.
    pub async fn run(&mut self, full_asked: bool) -> Result<(), EngineError> {
        // A full read under way resumes (after a crash) unless the link changed since it began.
        let restart = self.link.needs_full
            || (!self.link.full_running && (full_asked || self.link.checkpoint.is_none()));
        if restart {
            self.start_full().await?;
        }
        let mut full = self.link.full_running;
        if full && self.link.checkpoint.is_none() && self.match_on.is_some() {
            self.find_matches().await?;
        }
        let phase = format!("Download {}", self.entity());
        let total = if full {
            self.provider.count(self.entity()).await.ok().flatten()
        } else {
            None
        };
        let mut done: u64 = 0;
        // The page after the one being applied, read while it is written (one at most).
        let mut read_ahead = None;
        loop {
            let since = if full {
                self.link.full_token.clone()
            } else {
                self.link.checkpoint.clone()
            };
            let query = ChangesQuery {
                since,
                entities: vec![self.entity().to_owned()],
                filters: self.filter_json.clone(),
                limit: self.engine.settings.sync_batch,
            };
            let read = match read_ahead.take() {
                Some((since, read)) if since == query.since => read,
                _ => page::read(self.provider, self.def, &query).await,
            };
            let page = match read {
                Ok(page) => page,
                Err(ProviderError::TokenExpired) if !full || query.since.is_some() => {
                    self.ctx
                        .log(vec![self
                            .ctx
                            .entry(
                                LogLevel::Warning,
                                "TokenExpired",
                                "the server's change token expired: reading the link in full"
                                    .to_owned(),
                            )
                            .entity(self.entity())])
                        .await?;
                    self.start_full().await?;
                    full = true;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            self.ctx.checkpoint().await?;
            let more = page.more;
            done += page.changes.len() as u64;
            if more {
                // The batch commits with `next` as the link's token: the next read starts
                // there, so it can run while the batch is written.
                let ahead = ChangesQuery {
                    since: Some(page.next.clone()),
                    ..query.clone()
                };
                let (provider, def) = (self.provider, self.def);
                let (applied, read) = tokio::join!(
                    self.apply(page.changes, Some(page.next), full),
                    page::read(provider, def, &ahead)
                );
                applied?;
                read_ahead = Some((ahead.since, read));
            } else {
                self.apply(page.changes, Some(page.next), full).await?;
            }
            let batch = if more { u64::from(query.limit) } else { 0 };
            self.ctx
                .progress(&phase, done, total.unwrap_or(done + batch).max(done))
                .await?;
            if !more {
                break;
            }
        }
        if full {
            self.finish_full().await
        } else {
            self.finish_deletes().await
        }
    }

    /// Begins a full read: from scratch, recording the ids it sees when the client holds
    /// records, to find at its end the ones the server lacks.
    async fn start_full(&mut self) -> Result<(), EngineError> {
        self.link.full_running = true;
        self.link.full_token = None;
        self.link.needs_full = false;
        self.dry_seen.clear();
        if self.dry_run {
            return Ok(());
        }
        let (org_id, entity) = (self.org_id, self.entity().to_owned());
        let mut link = self.link.clone();
        self.link = self
            .engine
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let held = !records::list(conn, org_id, &entity, None, 1)?.is_empty();
                    link.sweep = held;
                    connections::clear_seen(conn, org_id, &entity)?;
                    connections::save_link(conn, &link)?;
                    Ok::<_, EngineError>(link)
                })
            })
            .await?;
        Ok(())
    }

    /// Ends a full read: the sweep, the staged deletes, then the full token becomes the
    /// checkpoint. Held by the guard, the read stays open: once approved, the job resumes it
    /// from its token, and the sweep finds the same records again.
    async fn finish_full(&mut self) -> Result<(), EngineError> {
        if self.dry_run {
            self.dry_sweep().await?;
            return self.finish_deletes().await;
        }
        if self.link.sweep {
            self.sweep().await?;
        }
        self.finish_deletes().await?;
        if self.held {
            return Ok(());
        }
        let (org_id, entity) = (self.org_id, self.entity().to_owned());
        let mut link = self.link.clone();
        link.checkpoint = link.full_token.take();
        link.full_running = false;
        link.sweep = false;
        link.last_sync_on = Some(now_micros());
        self.link = self
            .engine
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    connections::clear_seen(conn, org_id, &entity)?;
                    connections::save_link(conn, &link)?;
                    Ok::<_, EngineError>(link)
                })
            })
            .await?;
        Ok(())
    }

    /// Deletes, batch by batch, the client's records the full read did not see.
    async fn sweep(&mut self) -> Result<(), EngineError> {
        let batch = i64::from(self.engine.settings.sync_batch);
        let mut after = String::new();
        loop {
            let (org_id, entity, from) = (self.org_id, self.entity().to_owned(), after.clone());
            let ids = self
                .engine
                .db
                .run(move |conn| connections::unseen(conn, org_id, &entity, &from, batch))
                .await?;
            let Some(last) = ids.last() else { break };
            after = last.clone();
            let changes = ids
                .into_iter()
                .map(|id| RemoteChange {
                    entity: self.entity().to_owned(),
                    id,
                    op: ChangeOp::Delete,
                    reason: Some("NotOnServer".to_owned()),
                    version: 0,
                    modified_on: chrono::Utc::now(),
                    attributes: None,
                })
                .collect();
            self.ctx.checkpoint().await?;
            let changes = self.prepared(changes);
            self.apply(changes, None, false).await?;
        }
        Ok(())
    }

    fn prepared(&self, changes: Vec<RemoteChange>) -> Vec<Prepared> {
        page::prepare_all(self.def, changes)
    }

    fn count(&mut self, action: &str, id: &str) {
        if !self.dry_run {
            self.engine.metrics.wrote(action);
        }
        let s = &mut self.summary;
        match action {
            "Create" => s.created += 1,
            "Update" => s.updated += 1,
            "Delete" => s.deleted += 1,
            "Fail" => s.failed += 1,
            "LocalOnly" => s.local_only += 1,
            "Match" => s.matched += 1,
            "Staged" | "Adopted" => {}
            _ => s.skipped += 1,
        }
        if self.dry_run && matches!(action, "Create" | "Update" | "Delete") {
            let first = self.first_ids.entry(action.to_owned()).or_default();
            if first.len() < FIRST_IDS {
                first.push(id.to_owned());
            }
        }
    }

    /// Applies a batch of changes and moves the link's token to `next`, in one transaction.
    async fn apply(
        &mut self,
        changes: Vec<Prepared>,
        next: Option<String>,
        full: bool,
    ) -> Result<(), EngineError> {
        if self.dry_run {
            return self.dry_apply(changes, next, full).await;
        }
        let org_id = self.org_id;
        let def = self.def.clone();
        let mode = self.mode;
        let adopted = std::mem::take(&mut self.adopted);
        let job_id = self.ctx.job_id().to_owned();
        let max_bytes = self.engine.settings.record_max_bytes;
        let mut link = self.link.clone();
        if let Some(token) = next {
            if full {
                link.full_token = Some(token);
            } else {
                link.checkpoint = Some(token);
            }
        }
        let seen: Vec<String> = if full && link.sweep {
            changes
                .iter()
                .filter(|c| c.op == ChangeOp::Upsert)
                .map(|c| c.id.clone())
                .collect()
        } else {
            Vec::new()
        };
        let (outcomes, link, adopted) = self
            .engine
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let org = orgs::lock(conn, org_id)?;
                    let entity = def.name.as_str();
                    let current = records::load_many(
                        conn,
                        org_id,
                        changes.iter().map(|c| (entity, c.id.as_str())),
                    )?;
                    let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
                    let held = transactions::with_open_changes(conn, org_id, entity, &ids)?;
                    let mut staged = Vec::new();
                    let plans: Vec<(String, Plan)> = changes
                        .into_iter()
                        .map(|c| {
                            let (id, reason) = (c.id.clone(), c.reason.clone());
                            let p = if c.op == ChangeOp::Upsert && adopted.contains(&c.id) {
                                // Adopted by the first read's MatchOn pass, merged by the policy.
                                Plan::Adopted
                            } else if held.contains(&c.id) {
                                Plan::Skip("kept: the client's changes to it are not delivered yet")
                            } else {
                                plan(&def, mode, c, &current)
                            };
                            if let Plan::Delete(server_version) = p {
                                staged.push(StagedDelete {
                                    job_id: job_id.clone(),
                                    org_id,
                                    entity: entity.to_owned(),
                                    record_id: id.clone(),
                                    server_version,
                                    reason,
                                    prior: None,
                                });
                            }
                            (id, p)
                        })
                        .collect();
                    staged::stage(conn, &staged)?;
                    // The writes go to the store; each leaves `None` in its place, which takes
                    // the next of their outcomes.
                    let mut ops: Vec<WriteOp> = Vec::new();
                    let plans: Vec<(String, Option<Plan>)> = plans
                        .into_iter()
                        .map(|(id, p)| match p {
                            Plan::Write(op) => {
                                ops.push(op);
                                (id, None)
                            }
                            other => (id, Some(other)),
                        })
                        .collect();
                    let defs = HashMap::from([(def.name.to_string(), def.clone())]);
                    let mut applied =
                        records::apply_locked(conn, &org, &defs, &ops, current, max_bytes)?
                            .into_iter();
                    let mut outcomes = Vec::with_capacity(plans.len());
                    let mut log = Vec::with_capacity(plans.len());
                    for (id, p) in plans {
                        let (action, level, message) = match p {
                            None | Some(Plan::Write(_)) => match applied.next() {
                                Some(Ok(Applied::Created(_))) => {
                                    ("Create", LogLevel::Info, "created".to_owned())
                                }
                                Some(Ok(Applied::Updated(_))) => {
                                    ("Update", LogLevel::Info, "updated".to_owned())
                                }
                                Some(Ok(Applied::Deleted(_))) => {
                                    ("Delete", LogLevel::Info, "deleted".to_owned())
                                }
                                Some(Err(e)) => ("Fail", LogLevel::Error, e.to_string()),
                                None => ("Fail", LogLevel::Error, "no result".to_owned()),
                            },
                            Some(Plan::Unchanged) => {
                                ("Unchanged", LogLevel::Info, "already up to date".to_owned())
                            }
                            Some(Plan::Delete(_)) => {
                                outcomes.push(("Staged", id));
                                continue;
                            }
                            Some(Plan::Adopted) => {
                                outcomes.push(("Adopted", id));
                                continue;
                            }
                            Some(Plan::LocalOnly) => (
                                "LocalOnly",
                                LogLevel::Info,
                                "kept: a client record that never came from the server".to_owned(),
                            ),
                            Some(Plan::Skip(why)) => ("Skip", LogLevel::Info, why.to_owned()),
                            Some(Plan::Fail(why)) => ("Fail", LogLevel::Error, why),
                        };
                        log.push(
                            NewLog::new(&job_id, level, action, message)
                                .entity(entity)
                                .record(&id),
                        );
                        outcomes.push((action, id));
                    }
                    if !seen.is_empty() {
                        connections::add_seen(conn, org_id, entity, &seen)?;
                    }
                    connections::save_link(conn, &link)?;
                    job_log::append(conn, &log)?;
                    Ok::<_, EngineError>((outcomes, link, adopted))
                })
            })
            .await?;
        self.link = link;
        self.adopted = adopted;
        for (action, id) in outcomes {
            self.count(action, &id);
        }
        Ok(())
    }
}
