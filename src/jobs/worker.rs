//! Workers: each claims a job, keeps its lease alive with a heartbeat while it runs it with the
//! runner of its kind, and records the outcome. A job whose process dies is claimed again once
//! its lease lapses.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tracing::Instrument;

use super::registry::Registry;
use super::{JobContext, JobError, JobStatus, LogLevel};
use crate::db::jobs::{self, Claim, JobRow};
use crate::domain::error::Code;
use crate::sync::{Engine, Report};

/// Starts the configured number of workers on the current runtime.
pub fn spawn_workers(engine: Engine) {
    let registry = Arc::new(Registry::default());
    for n in 0..engine.settings.workers {
        let worker = format!(
            "{}-{}-{n}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let (engine, registry) = (engine.clone(), registry.clone());
        actix_web::rt::spawn(async move { worker_loop(engine, registry, worker).await });
    }
}

async fn worker_loop(engine: Engine, registry: Arc<Registry>, worker: String) {
    let lease = micros(engine.settings.job_lease);
    loop {
        let claimed = {
            let worker = worker.clone();
            engine
                .db
                .run(move |conn| jobs::claim(conn, &worker, lease))
                .await
        };
        match claimed {
            Ok(Claim::Job(job)) => run(&engine, &registry, *job, &worker).await,
            Ok(Claim::Exhausted(job)) => exhausted(&engine, &registry, *job, &worker).await,
            Ok(Claim::Nothing) => actix_web::rt::time::sleep(engine.settings.job_poll).await,
            Err(e) => {
                tracing::warn!(error = %e.chain(), "claiming a job failed");
                actix_web::rt::time::sleep(engine.settings.job_poll).await;
            }
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

async fn run(engine: &Engine, registry: &Registry, job: JobRow, worker: &str) {
    let span = tracing::info_span!("job", job = %job.id, kind = %job.kind, org = %job.org_name, attempt = job.tries);
    run_claimed(engine, registry, job, worker)
        .instrument(span)
        .await;
}

async fn run_claimed(engine: &Engine, registry: &Registry, job: JobRow, worker: &str) {
    tracing::info!("job started");
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeat = actix_web::rt::spawn(heartbeat(
        engine.clone(),
        job.id.clone(),
        worker.to_owned(),
        stop.clone(),
    ));
    let ctx = JobContext::new(engine.clone(), job.clone(), worker.to_owned(), stop);
    let _ = ctx
        .info(
            "Start",
            format!("try {} of {} on worker {worker}", job.tries, job.max_tries),
        )
        .await;
    // A panic in the work is a failed, retryable run, not a dead worker.
    let started = std::time::Instant::now();
    let outcome = match AssertUnwindSafe(registry.run(&ctx)).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(_) => Err(JobError::retryable(
            Code::JobPanicked,
            "the job's work panicked; the service log has the details",
        )),
    };
    heartbeat.abort();
    engine
        .metrics
        .job_seconds
        .get_or_create(&crate::metrics::KindLabels {
            kind: job.kind.as_str().to_owned(),
        })
        .observe(started.elapsed().as_secs_f64());
    let (level, message, label) = match &outcome {
        Ok((status, _)) => (LogLevel::Info, status.to_string(), status.to_string()),
        Err(e) => (LogLevel::Error, e.to_string(), e.code.clone()),
    };
    let _ = ctx.log(vec![ctx.entry(level, "Finish", message)]).await;
    engine
        .metrics
        .job_runs
        .get_or_create(&crate::metrics::JobRunLabels {
            kind: job.kind.as_str().to_owned(),
            outcome: label,
        })
        .inc();
    let failure = outcome.as_ref().err().cloned();
    // A failure for good (as `jobs::finish` decides it) leaves what its kind's hook sets (a
    // Connect's connection `Failed`) before the job reads as Failed, so whoever sees the job
    // failed sees that too.
    let for_good = failure
        .as_ref()
        .filter(|e| job.after_failure(e) == JobStatus::Failed);
    let hooked = for_good.is_some();
    if let Some(e) = for_good {
        registry.failed(&ctx, e).await;
    }
    let backoff = engine.settings.job_backoff;
    let (id, w) = (job.id.clone(), worker.to_owned());
    let finished = engine
        .db
        .run(move |conn| {
            jobs::finish(conn, &id, &w, outcome, |tries| {
                let factor =
                    2_i64.saturating_pow(u32::try_from(tries.max(1) - 1).unwrap_or(0).min(20));
                micros(backoff).saturating_mul(factor).min(3_600_000_000)
            })
        })
        .await;
    let status = match finished {
        Ok(Some(status)) => Some(status),
        Ok(None) => {
            tracing::warn!("the job's lease was lost before it finished; another worker owns it");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e.chain(), "recording the job's outcome failed");
            None
        }
    };
    match failure {
        Some(e) => {
            tracing::warn!(code = %e.code, retryable = e.retryable, "job run failed: {}", e.message);
            // Failed after all (a cancel asked meanwhile): the hook has not run yet.
            if status == Some(JobStatus::Failed) && !hooked {
                registry.failed(&ctx, &e).await;
            }
        }
        None => tracing::info!("job finished"),
    }
}

/// A job whose process died on its last try: failed by the claim, its kind's failure hook
/// runs here (a Connect leaves its connection `Failed`, as after any failure for good).
async fn exhausted(engine: &Engine, registry: &Registry, job: JobRow, worker: &str) {
    let Some(error) = job.error.as_ref().map(|e| e.get().clone()) else {
        return;
    };
    tracing::warn!(job = %job.id, code = %error.code, "job failed: {}", error.message);
    let stop = Arc::new(AtomicBool::new(true));
    let ctx = JobContext::new(engine.clone(), job.clone(), worker.to_owned(), stop);
    let _ = ctx
        .log(vec![ctx.entry(
            LogLevel::Error,
            "Finish",
            error.to_string(),
        )])
        .await;
    registry.failed(&ctx, &error).await;
}

async fn heartbeat(engine: Engine, id: String, worker: String, stop: Arc<AtomicBool>) {
    let lease = micros(engine.settings.job_lease);
    let every = (engine.settings.job_lease / 3).max(Duration::from_millis(50));
    loop {
        actix_web::rt::time::sleep(every).await;
        let (i, w) = (id.clone(), worker.clone());
        match engine
            .db
            .run(move |conn| jobs::heartbeat(conn, &i, &w, lease))
            .await
        {
            Ok((held, cancel)) => {
                if !held || cancel {
                    stop.store(true, Ordering::Relaxed);
                }
            }
            Err(e) => tracing::warn!(error = %e.chain(), "job heartbeat failed"),
        }
    }
}
