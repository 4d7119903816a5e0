//! Snapshots (NexJ's "Get snapshot" and "Send snapshot"), at system level or for named links,
//! full or filtered. A Get makes the client equal to the server's in-scope records ([`get`]);
//! a Send makes the server equal to the client's ([`send`]). Both override the other side's
//! changes, so both go through the delete guard and keep whatever they delete or overwrite in
//! the job's quarantine first.

mod get;
mod send;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::connection::ready_connection;
use super::{Engine, EngineError, Pass, Report};
use crate::db::connections::{self, LinkRow};
use crate::db::jobs::{self as queue, JobRow};
use crate::db::{metadata, now_micros, write_tx, DbConn};
use crate::domain::error::{entity_not_found, Code, Refusal};
use crate::domain::filter::{SyncFilters, ValidFilters};
use crate::domain::jobs::{EntitySummary, Finished, JobKind};
use crate::domain::metadata::EntityDef;
use crate::domain::snapshot::{SnapshotDirection, SnapshotFilter};
use crate::providers::{ChangesQuery, RemoteChange};
use crate::wire::changes::ChangeOp;
use crate::wire::sync::SnapshotRequest;

/// The kinds of a snapshot job: one of them queued or running is the org's snapshot.
pub const KINDS: [JobKind; 2] = [JobKind::GetSnapshot, JobKind::SendSnapshot];

/// How many first ids a dry run reports per action.
const FIRST_IDS: usize = 10;

/// One link a snapshot works on, with the filter that narrows it (none: a full snapshot).
#[derive(Debug, Clone)]
pub struct Target {
    pub link: LinkRow,
    pub def: EntityDef,
    pub filter: Option<SnapshotFilter>,
}

/// The links a snapshot request selects, each with its filter (the request's, else the
/// link's saved one), or the refusal naming what is wrong.
pub fn select(
    links: &[LinkRow],
    defs: &HashMap<String, EntityDef>,
    request: &SnapshotRequest,
) -> Result<Vec<Target>, Refusal> {
    let direction = request.direction;
    let on = |l: &LinkRow| match direction {
        SnapshotDirection::Get => l.inbound,
        SnapshotDirection::Send => l.outbound,
    };
    let switch = match direction {
        SnapshotDirection::Get => "Inbound",
        SnapshotDirection::Send => "Outbound",
    };
    let chosen: Vec<&LinkRow> = match &request.entities {
        Some(names) => {
            let mut chosen = Vec::new();
            for name in names {
                let link = links.iter().find(|l| &l.entity == name).ok_or_else(|| {
                    crate::domain::error::link_not_found(name)
                        .field("Entities")
                        .named_in_body()
                })?;
                if !on(link) {
                    return Err(Refusal::new(
                        Code::LinkDirectionOff,
                        format!(
                            "the link of '{name}' has {switch} off: a {direction} snapshot needs it on"
                        ),
                    )
                    .with("entity", name.as_str())
                    .field("Entities"));
                }
                if !chosen.iter().any(|c: &&LinkRow| c.entity == link.entity) {
                    chosen.push(link);
                }
            }
            chosen
        }
        None => links.iter().filter(|l| on(l)).collect(),
    };
    if chosen.is_empty() {
        return Err(Refusal::new(
            Code::NothingToSnapshot,
            format!("no link has {switch} on: there is nothing to {direction}"),
        )
        .field("Entities"));
    }
    let given = request.filters.as_ref().map(|f| &f.0);
    if let Some(stray) = given
        .into_iter()
        .flat_map(BTreeMap::keys)
        .find(|e| !chosen.iter().any(|l| &l.entity == *e))
    {
        return Err(Refusal::new(
            Code::InvalidSnapshotFilter,
            format!("Filters names '{stray}', which this snapshot does not take"),
        )
        .with("entity", stray.as_str())
        .field("Filters"));
    }
    chosen
        .into_iter()
        .map(|link| {
            let def = defs
                .get(&link.entity)
                .cloned()
                .ok_or_else(|| entity_not_found(&link.entity))?;
            let filter = given
                .and_then(|g| g.get(&link.entity).cloned())
                .or_else(|| link.snapshot_filter.as_ref().map(|f| f.get().clone()));
            if let Some(f) = &filter {
                f.validate(&def)?;
            }
            Ok(Target {
                link: link.clone(),
                def,
                filter,
            })
        })
        .collect()
}

/// An org's id, its entities by name, and its links.
type OrgLinks = (i64, HashMap<String, EntityDef>, Vec<LinkRow>);

/// The org's id, entities and links, for a snapshot.
fn load(conn: &mut DbConn, org: &str) -> Result<OrgLinks, EngineError> {
    let (org_id, _) = ready_connection(conn, org)?;
    let defs = metadata::entities(conn, org_id)?
        .into_iter()
        .map(|d| (d.name.to_string(), d))
        .collect();
    Ok((org_id, defs, connections::links(conn, org_id)?))
}

impl Engine {
    /// Queues a snapshot of `org`, or gives the snapshot already queued or running (false).
    pub async fn snapshot_async(
        &self,
        org: &str,
        request: SnapshotRequest,
        added_by: &str,
    ) -> Result<(JobRow, bool), EngineError> {
        let kind = match request.direction {
            SnapshotDirection::Get => JobKind::GetSnapshot,
            SnapshotDirection::Send => JobKind::SendSnapshot,
        };
        let params = serde_json::to_value(&request)
            .map_err(|e| Refusal::new(Code::InternalError, e.to_string()))?;
        let (org, added_by) = (org.to_owned(), added_by.to_owned());
        let max_tries = self.settings.job_max_tries;
        self.db
            .run(move |conn| {
                let (_, defs, links) = load(conn, &org)?;
                select(&links, &defs, &request)?;
                write_tx(conn, |conn| {
                    Ok(queue::enqueue_unless(
                        conn, kind, &KINDS, &org, &added_by, &params, max_tries,
                    )?)
                })
            })
            .await
    }
}

/// A snapshot job: each selected link in turn; held when the delete guard held a link's
/// deletes.
pub async fn run(
    engine: &Engine,
    ctx: &dyn Report,
    org: &str,
    request: SnapshotRequest,
) -> Result<Finished, EngineError> {
    let name = org.to_owned();
    let (connection, (org_id, defs, links)) = engine
        .db
        .run(move |conn| {
            let (_, connection) = connections::of_org(conn, &name)?;
            Ok::<_, EngineError>((connection, load(conn, &name)?))
        })
        .await?;
    let targets = select(&links, &defs, &request)?;
    let provider = engine.provider_for(&connection)?;
    let pass = Pass {
        engine,
        report: ctx,
        provider: provider.as_ref(),
        org_id,
    };
    let dry_run = request.dry_run.unwrap_or(false);
    let mut summary = ctx.held_summary().unwrap_or_default();
    let mut held = false;
    for target in targets {
        let entity = target.link.entity.clone();
        let part = match request.direction {
            SnapshotDirection::Get => {
                let mut get = get::Get::new(&pass, target, &connection, dry_run);
                get.run().await?;
                held |= get.held;
                get.tally.into_summary()
            }
            SnapshotDirection::Send => {
                let mut send = send::Send::new(&pass, target, &connection, dry_run)?;
                send.run().await?;
                held |= send.held;
                send.tally.into_summary()
            }
        };
        summary.entry(entity).or_default().absorb(part);
    }
    if !dry_run {
        engine
            .db
            .run(move |conn| connections::set_last_sync(conn, org_id, now_micros()))
            .await?;
    }
    super::run::ending(engine, ctx, held, summary).await
}

/// What a link's pass did, and a dry run's first ids.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    pub summary: EntitySummary,
    dry_run: bool,
    first_ids: BTreeMap<String, Vec<String>>,
}

impl Tally {
    fn new(dry_run: bool) -> Self {
        Self {
            dry_run,
            ..Self::default()
        }
    }

    fn count(&mut self, action: &str, id: &str) {
        let s = &mut self.summary;
        match action {
            "Create" => s.created += 1,
            "Update" => s.updated += 1,
            "Delete" => s.deleted += 1,
            "Fail" => s.failed += 1,
            "Staged" | "Override" => {}
            _ => s.skipped += 1,
        }
        if self.dry_run && matches!(action, "Create" | "Update" | "Delete") {
            let first = self.first_ids.entry(action.to_owned()).or_default();
            if first.len() < FIRST_IDS {
                first.push(id.to_owned());
            }
        }
    }

    fn into_summary(mut self) -> EntitySummary {
        if self.dry_run {
            self.summary.first_ids = Some(std::mem::take(&mut self.first_ids));
        }
        self.summary
    }
}

/// A full read of a link's server records (through its sync filter), page by page, with the
/// job's progress; a stop asked for is seen at each page.
pub(crate) struct FullRead<'a> {
    pass: Pass<'a>,
    entity: String,
    filters: Option<Value>,
    since: Option<String>,
    phase: String,
    total: Option<u64>,
    done: u64,
    ended: bool,
}

impl<'a> FullRead<'a> {
    async fn new(pass: &Pass<'a>, link: &LinkRow, phase: &str) -> Self {
        let entity = link.entity.clone();
        Self {
            pass: *pass,
            filters: link
                .sync_filter
                .as_ref()
                .map(|f| serde_json::json!({ entity.clone(): f.get() })),
            total: pass.provider.count(&entity).await.ok().flatten(),
            phase: format!("{phase} {entity}"),
            entity,
            since: None,
            done: 0,
            ended: false,
        }
    }

    /// The server's change token after the pages read so far.
    fn token(&self) -> Option<String> {
        self.since.clone()
    }

    /// The next page's records; `None` once the read has ended.
    async fn next(&mut self) -> Result<Option<Vec<RemoteChange>>, EngineError> {
        if self.ended {
            return Ok(None);
        }
        let query = ChangesQuery {
            since: self.since.take(),
            entities: vec![self.entity.clone()],
            filters: self.filters.clone(),
            limit: self.pass.engine.settings.sync_batch,
        };
        let page = self.pass.provider.changes(&query).await?;
        let ctx = self.pass.report;
        ctx.checkpoint().await?;
        self.done += page.changes.len() as u64;
        let total = self.total.unwrap_or(self.done).max(self.done);
        ctx.progress(&self.phase, self.done, total).await?;
        self.ended = !page.more;
        self.since = Some(page.next);
        Ok(Some(
            page.changes
                .into_iter()
                .filter(|c| c.op == ChangeOp::Upsert)
                .collect(),
        ))
    }
}

/// The link's sync filter, typed by the entity, to tell which client records are in scope.
fn link_scope(link: &LinkRow, def: &EntityDef) -> Result<Option<ValidFilters>, Refusal> {
    let Some(filter) = &link.sync_filter else {
        return Ok(None);
    };
    let parsed = SyncFilters::from_json(&serde_json::json!({ link.entity.clone(): filter.get() }))?;
    Ok(Some(parsed.validate_for(def)?))
}
