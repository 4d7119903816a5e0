//! The scheduler: queues the periodic sync of each connection with a `SyncInterval`, never
//! two active for one org. Every process may run it (`ORGSYNC_SCHEDULER=off` turns it off);
//! the org lock taken when queueing keeps two processes from queueing the same sync.

use super::JobKind;
use crate::db::{connections, jobs, now_micros, write_tx, DbResult};
use crate::sync::Engine;

pub const ADDED_BY: &str = "scheduler";

pub fn spawn_scheduler(engine: Engine) {
    if !engine.settings.scheduler {
        return;
    }
    actix_web::rt::spawn(async move {
        loop {
            actix_web::rt::time::sleep(engine.settings.job_poll).await;
            if let Err(e) = enqueue_due(&engine).await {
                tracing::warn!(error = %e.chain(), "scheduling periodic syncs failed");
            }
        }
    });
}

/// Queues the syncs that are due; gives how many were queued.
pub async fn enqueue_due(engine: &Engine) -> DbResult<usize> {
    let max_tries = engine.settings.job_max_tries;
    engine
        .db
        .run(move |conn| {
            let now = now_micros();
            let mut queued = 0;
            for (org, interval_secs, last_sync, connected_on) in connections::with_interval(conn)? {
                let last_try = jobs::last_entered(conn, &org, JobKind::Sync)?;
                let since = last_sync.max(last_try).unwrap_or(connected_on);
                if now < since.saturating_add(interval_secs.saturating_mul(1_000_000)) {
                    continue;
                }
                let params = serde_json::json!({});
                let (_, new) = write_tx(conn, |conn| {
                    jobs::enqueue_once(conn, JobKind::Sync, &org, ADDED_BY, &params, max_tries)
                })?;
                if new {
                    tracing::info!(org = %org, "periodic sync queued");
                    queued += 1;
                }
            }
            Ok(queued)
        })
        .await
}
