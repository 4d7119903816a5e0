//! The Compare job: drift between a client org and its server org without moving the data.
//! The server cuts an entity's in-scope records into pieces by id and digests each; the client
//! counts its own records into the same pieces. Only pieces whose digests differ are cut
//! further, until few enough records are left to list: what moves grows with the number of
//! differences, not with the size of the org. `Repair` then syncs exactly the records that
//! differ, per item, through the normal download (delete guard and quarantine included).

mod local;
mod rounds;

use std::collections::BTreeMap;

use serde_json::json;

use super::connection::Linked;
use super::download::Download;
use super::run::ending;
use super::scope::check_sync_request;
use super::{Engine, EngineError, Pass, Report};
use crate::db::connections::LinkRow;
use crate::db::jobs::JobRow;
use crate::db::{digests, records};
use crate::domain::digest::Differences;
use crate::domain::error::{Code, Refusal};
use crate::domain::jobs::{EntitySummary, Finished, JobKind, LogLevel, Summary};
use crate::wire::compare::CompareRequest;
use crate::wire::sync::SyncRequest;

/// Ids of each kind of difference shown in the summary.
const FIRST_IDS: usize = 10;
/// Differences logged one by one per entity; the rest are counted.
const LOGGED: usize = 1000;
/// Records a per-item sync takes at once.
const REPAIR_CHUNK: usize = 10_000;

/// What Compare found of one entity's records that differ, each kind by id.
#[derive(Debug, Default)]
struct Drift {
    /// On the server (in scope), not on the client.
    missing: Vec<String>,
    /// On the client, from the server once, and no longer on the server (or out of scope).
    extra: Vec<String>,
    /// On both, with different attributes.
    stale: Vec<String>,
    /// On the client only, created there and never sent: a sync leaves them.
    local_only: Vec<String>,
    /// A client write of the record waits to be delivered: the difference is on its way.
    pending: Vec<String>,
}

impl Drift {
    const KINDS: [(&'static str, &'static str); 5] = [
        ("Missing", "on the server, not on the client"),
        (
            "Extra",
            "on the client, no longer on the server (or out of its filter)",
        ),
        ("Stale", "on both, with different attributes"),
        (
            "LocalOnly",
            "created on the client and never sent: kept, Repair leaves it",
        ),
        (
            "Pending",
            "a client change of it waits for upload: the next sync carries it",
        ),
    ];

    fn of(&self, kind: &str) -> &[String] {
        match kind {
            "Missing" => &self.missing,
            "Extra" => &self.extra,
            "Stale" => &self.stale,
            "LocalOnly" => &self.local_only,
            _ => &self.pending,
        }
    }

    /// The records Repair syncs.
    fn to_repair(&self) -> Vec<String> {
        let mut ids: Vec<String> = [&self.missing, &self.extra, &self.stale]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        ids.sort_unstable();
        ids
    }
}

impl Engine {
    /// Queues a Compare of `org`, or gives the one already queued or running (false).
    pub async fn compare_async(
        &self,
        org: &str,
        request: CompareRequest,
        added_by: &str,
    ) -> Result<(JobRow, bool), EngineError> {
        let params = serde_json::to_value(&request)
            .map_err(|e| Refusal::new(Code::InternalError, e.to_string()))?;
        let entities = SyncRequest {
            entities: request.entities.clone(),
            ..SyncRequest::default()
        };
        self.enqueue(
            org,
            JobKind::Compare,
            params,
            added_by,
            move |conn, org_id| check_sync_request(conn, org_id, &entities),
        )
        .await
    }
}

/// Runs a Compare job.
pub async fn run(
    engine: &Engine,
    ctx: &dyn Report,
    org: &str,
    request: CompareRequest,
) -> Result<Finished, EngineError> {
    let Linked {
        org_id,
        connection,
        defs,
        links,
    } = Linked::load(engine, org).await?;
    let provider = engine.provider_for(&connection)?;
    let pass = Pass {
        engine,
        report: ctx,
        provider: provider.as_ref(),
        org_id,
    };
    let chosen: Vec<&LinkRow> = links
        .iter()
        .filter(|l| match &request.entities {
            Some(named) => named.contains(&l.entity),
            None => l.inbound,
        })
        .collect();
    let mut summary = Summary::new();
    let mut held = false;
    for (i, link) in chosen.iter().enumerate() {
        let Some(def) = defs.get(&link.entity) else {
            continue;
        };
        ctx.checkpoint().await?;
        let filters = link
            .sync_filter
            .as_ref()
            .map(|f| json!({ link.entity.as_str(): f.get() }));
        let found = rounds::compare(&pass, &link.entity, filters, (i, chosen.len())).await?;
        let drift = classify(engine, org_id, &link.entity, &found.differences).await?;
        report(ctx, &link.entity, &found, &drift).await?;
        let entry = summary.entry(link.entity.clone()).or_default();
        *entry = summary_of(&found, &drift);
        let ids = drift.to_repair();
        if request.repair == Some(true) && !ids.is_empty() {
            ctx.info(
                "Repair",
                format!(
                    "syncing the {} records of '{}' that differ, one by one",
                    ids.len(),
                    link.entity
                ),
            )
            .await?;
            let mut download = Download::new(&pass, def, (*link).clone(), &connection, false);
            for chunk in ids.chunks(REPAIR_CHUNK) {
                download.items(chunk).await?;
            }
            held |= download.held();
            entry.absorb(download.into_summary());
        }
    }
    ending(engine, ctx, held, summary).await
}

/// Sorts the records that differ by why: a record a client write is still to deliver is
/// pending, and a client record that never came from the server is local-only.
async fn classify(
    engine: &Engine,
    org_id: i64,
    entity: &str,
    found: &Differences,
) -> Result<Drift, EngineError> {
    let entity = entity.to_owned();
    let found = found.clone();
    engine
        .db
        .run(move |conn| {
            let all: Vec<String> = [&found.missing, &found.extra, &found.stale]
                .into_iter()
                .flatten()
                .cloned()
                .collect();
            let open = digests::with_open_transactions(conn, org_id, &entity, &all)?;
            let rows = records::load_many(
                conn,
                org_id,
                found.extra.iter().map(|id| (entity.as_str(), id.as_str())),
            )?;
            let mut drift = Drift::default();
            for id in found.missing {
                match open.contains(&id) {
                    true => drift.pending.push(id),
                    false => drift.missing.push(id),
                }
            }
            for id in found.stale {
                match open.contains(&id) {
                    true => drift.pending.push(id),
                    false => drift.stale.push(id),
                }
            }
            for id in found.extra {
                let never_sent = rows
                    .get(&(entity.clone(), id.clone()))
                    .is_some_and(|r| r.server_version.is_none());
                if open.contains(&id) {
                    drift.pending.push(id);
                } else if never_sent {
                    drift.local_only.push(id);
                } else {
                    drift.extra.push(id);
                }
            }
            drift.pending.sort_unstable();
            Ok::<_, EngineError>(drift)
        })
        .await
}

fn summary_of(found: &rounds::Found, drift: &Drift) -> EntitySummary {
    let first_ids: BTreeMap<String, Vec<String>> = Drift::KINDS
        .iter()
        .map(|(kind, _)| (*kind, drift.of(kind)))
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(kind, ids)| {
            (
                kind.to_owned(),
                ids.iter().take(FIRST_IDS).cloned().collect(),
            )
        })
        .collect();
    let n = |ids: &[String]| Some(ids.len() as u64);
    EntitySummary {
        server: Some(found.server),
        client: Some(found.client),
        missing: n(&drift.missing),
        extra: n(&drift.extra),
        stale: n(&drift.stale),
        pending: n(&drift.pending),
        local_only: drift.local_only.len() as u64,
        first_ids: (!first_ids.is_empty()).then_some(first_ids),
        ..EntitySummary::default()
    }
}

/// The job's log of one entity: a line per difference (up to [`LOGGED`]) and the totals.
async fn report(
    ctx: &dyn Report,
    entity: &str,
    found: &rounds::Found,
    drift: &Drift,
) -> Result<(), EngineError> {
    let mut lines = Vec::new();
    for (kind, meaning) in Drift::KINDS {
        let level = match kind {
            "LocalOnly" | "Pending" => LogLevel::Info,
            _ => LogLevel::Warning,
        };
        for id in drift.of(kind).iter().take(LOGGED) {
            lines.push(
                ctx.entry(level, kind, format!("'{id}': {meaning}"))
                    .entity(entity)
                    .record(id),
            );
        }
        let more = drift.of(kind).len().saturating_sub(LOGGED);
        if more > 0 {
            lines.push(
                ctx.entry(level, kind, format!("and {more} more {meaning}"))
                    .entity(entity),
            );
        }
    }
    lines.push(
        ctx.entry(
            LogLevel::Info,
            "Compared",
            format!(
                "'{entity}': {} records on the server, {} on the client; {} missing, {} extra, \
                 {} stale, {} local-only, {} pending; {} rounds, {} bytes of digests exchanged",
                found.server,
                found.client,
                drift.missing.len(),
                drift.extra.len(),
                drift.stale.len(),
                drift.local_only.len(),
                drift.pending.len(),
                found.rounds,
                found.bytes
            ),
        )
        .entity(entity),
    );
    ctx.log(lines).await
}
