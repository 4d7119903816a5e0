//! The Sync job: upload (client → server, with the transaction queue), then download of each
//! inbound link, then the summary with quota use.

use super::connection::Linked;
use super::download::Download;
use super::upload::Upload;
use super::{Engine, EngineError, Pass, Report};
use crate::db::connections::{self, LinkRow};
use crate::db::{now_micros, orgs, records, transactions};
use crate::domain::jobs::{Finished, JobStatus, LogLevel, Summary};
use crate::wire::sync::{Direction, SyncRequest};

pub async fn run(
    engine: &Engine,
    ctx: &dyn Report,
    org: &str,
    request: SyncRequest,
) -> Result<Finished, EngineError> {
    let Linked {
        org_id,
        connection,
        defs,
        links,
    } = Linked::load(engine, org).await?;
    let dry_run = request.dry_run.unwrap_or(false);
    // Signed in on its first call (a token of the process is reused).
    let provider = engine.provider_for(&connection)?;
    let wanted = |l: &LinkRow| {
        request
            .entities
            .as_ref()
            .is_none_or(|e| e.contains(&l.entity))
    };
    // Approved after the guard held it, the job goes on from what it had done.
    let mut summary = ctx.held_summary().unwrap_or_default();
    let mut held = false;
    let direction = request.direction.unwrap_or_default();
    if direction != Direction::Inbound && request.record_ids.is_none() {
        ctx.progress("Upload", 0, 1).await?;
        if dry_run {
            let pending = engine
                .db
                .run(move |conn| transactions::pending_count(conn, org_id))
                .await?;
            ctx.info(
                "Upload",
                format!("DryRun: {pending} pending transactions would be sent"),
            )
            .await?;
        } else {
            let waiting: Vec<String> = links
                .iter()
                .filter(|l| l.outbound && l.awaiting_send && wanted(l))
                .map(|l| l.entity.clone())
                .collect();
            let lines = waiting
                .iter()
                .map(|e| {
                    ctx.entry(
                        LogLevel::Warning,
                        "AwaitingSendSnapshot",
                        format!(
                            "'{e}' is not uploaded: its Outbound was switched on again, and it \
                             waits for a full Send snapshot of the link"
                        ),
                    )
                    .entity(e)
                })
                .collect();
            ctx.log(lines).await?;
            let uploaded = Upload::new(engine, provider.as_ref(), org_id, &connection, None)
                .skipping(waiting)
                .run(Some(ctx))
                .await?;
            ctx.info(
                "Upload",
                format!(
                    "{} transactions delivered, {} failed",
                    uploaded.delivered.len(),
                    uploaded.failed.len()
                ),
            )
            .await?;
            let notes = uploaded
                .notes
                .iter()
                .map(|n| {
                    ctx.entry(n.level, n.action, n.message.clone())
                        .entity(&n.entity)
                        .record(&n.id)
                })
                .collect();
            ctx.log(notes).await?;
            held |= uploaded.held;
            for (entity, part) in uploaded.summary {
                summary.entry(entity).or_default().absorb(part);
            }
            let uploads = |e: &str| {
                links
                    .iter()
                    .any(|l| l.entity == e && l.outbound && wanted(l))
            };
            report_stuck(engine, ctx, org_id, &uploads, &mut summary).await?;
        }
    }
    if direction != Direction::Outbound {
        let pass = Pass {
            engine,
            report: ctx,
            provider: provider.as_ref(),
            org_id,
        };
        let inbound: Vec<&LinkRow> = links.iter().filter(|l| l.inbound && wanted(l)).collect();
        for link in inbound {
            let Some(def) = defs.get(&link.entity) else {
                continue;
            };
            let mut download = Download::new(&pass, def, link.clone(), &connection, dry_run);
            match &request.record_ids {
                Some(ids) => download.items(ids).await?,
                None => download.run(request.full.unwrap_or(false)).await?,
            }
            held |= download.held();
            summary
                .entry(link.entity.clone())
                .or_default()
                .absorb(download.into_summary());
        }
    }
    if !dry_run {
        report_quota(engine, ctx, org_id, &mut summary).await?;
        engine
            .db
            .run(move |conn| connections::set_last_sync(conn, org_id, now_micros()))
            .await?;
    }
    ending(engine, ctx, held, summary).await
}

/// How a job that worked on links ends: `Held` when the delete guard held some link's
/// deletes, else completed (with errors when a record failed).
pub(crate) async fn ending(
    engine: &Engine,
    ctx: &dyn Report,
    held: bool,
    summary: Summary,
) -> Result<Finished, EngineError> {
    if held {
        engine.metrics.held_jobs.inc();
        ctx.progress("Held", 0, 1).await?;
        return Ok((JobStatus::Held, summary));
    }
    ctx.progress("Done", 1, 1).await?;
    let failed = summary.values().any(|s| s.failed > 0 || s.stuck > 0);
    Ok((
        if failed {
            JobStatus::CompletedWithErrors
        } else {
            JobStatus::Completed
        },
        summary,
    ))
}

/// Says in the summary and the log which client transactions wait in `Error`: no sync sends
/// them again, so a sync that leaves them is not a clean one.
async fn report_stuck(
    engine: &Engine,
    ctx: &dyn Report,
    org_id: i64,
    wanted: &(dyn Fn(&str) -> bool + Sync),
    summary: &mut Summary,
) -> Result<(), EngineError> {
    let stuck = engine
        .db
        .run(move |conn| transactions::stuck_by_entity(conn, org_id))
        .await?;
    let mut log = Vec::new();
    for (entity, n) in stuck.into_iter().filter(|(e, _)| wanted(e)) {
        summary.entry(entity.clone()).or_default().stuck = u64::try_from(n).unwrap_or(0);
        log.push(
            ctx.entry(
                LogLevel::Warning,
                "StuckTransactions",
                format!(
                    "{n} transactions of '{entity}' were refused by the server and wait in \
                     Error: no sync sends them again; SetToPending sends them with the next \
                     sync, SetToArchived sets them aside"
                ),
            )
            .entity(&entity),
        );
    }
    ctx.log(log).await
}

/// Marks entities over their quota in the summary and the log; the sync never stops on it.
async fn report_quota(
    engine: &Engine,
    ctx: &dyn Report,
    org_id: i64,
    summary: &mut Summary,
) -> Result<(), EngineError> {
    // Counting every record costs; only an org with quotas needs it.
    let quotas = engine
        .db
        .run(move |conn| orgs::by_id(conn, org_id))
        .await?
        .quotas;
    let Some(quotas) = quotas.map(crate::db::Json::into_inner) else {
        return Ok(());
    };
    let counts = engine
        .db
        .run(move |conn| records::counts(conn, org_id))
        .await?;
    let per_entity = quotas.entities.unwrap_or_default();
    let mut log = Vec::new();
    for (entity, n) in &counts {
        let n = u64::try_from(*n).unwrap_or(0);
        if let Some(quota) = per_entity.get(entity).filter(|q| n > **q) {
            summary.entry(entity.clone()).or_default().over_quota = true;
            log.push(
                ctx.entry(
                    LogLevel::Warning,
                    "OverQuota",
                    format!("{entity} holds {n} records; its quota is {quota}"),
                )
                .entity(entity),
            );
        }
    }
    let total: u64 = counts
        .iter()
        .map(|(_, n)| u64::try_from(*n).unwrap_or(0))
        .sum();
    if let Some(max) = quotas.max_records.filter(|m| total > *m) {
        log.push(ctx.entry(
            LogLevel::Warning,
            "OverQuota",
            format!("the org holds {total} records; its quota is {max}"),
        ));
    }
    ctx.log(log).await
}
