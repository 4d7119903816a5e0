//! Workers: each claims a job, keeps its lease alive with a heartbeat while it runs, and
//! records the outcome. A job whose process dies is claimed again once its lease lapses.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{JobError, JobKind, JobStatus, LogLevel, Progress, Summary};
use crate::db::jobs::{self, JobRow, NewLog};
use crate::db::{connections, orgs};
use futures_util::FutureExt;
use tracing::Instrument;

use crate::AppState;

/// What a running job sees: the app, its own row, and ways to report and to stop.
pub struct JobContext {
    pub state: AppState,
    pub job: JobRow,
    worker: String,
    /// Set by the heartbeat: a cancel was asked for, or the lease was lost.
    stop: Arc<AtomicBool>,
}

impl JobContext {
    /// Writes log entries.
    pub async fn log(&self, entries: Vec<NewLog>) -> Result<(), JobError> {
        if entries.is_empty() {
            return Ok(());
        }
        Ok(self
            .state
            .db
            .run(move |conn| jobs::append_log(conn, &entries))
            .await?)
    }

    pub fn entry(&self, level: LogLevel, action: &str, message: impl Into<String>) -> NewLog {
        NewLog::new(&self.job.id, level, action, message)
    }

    pub async fn info(&self, action: &str, message: impl Into<String>) -> Result<(), JobError> {
        self.log(vec![self.entry(LogLevel::Info, action, message)])
            .await
    }

    pub async fn progress(&self, phase: &str, done: u64, total: u64) -> Result<(), JobError> {
        let (id, worker) = (self.job.id.clone(), self.worker.clone());
        let progress = Progress {
            phase: phase.to_owned(),
            done,
            total,
        };
        Ok(self
            .state
            .db
            .run(move |conn| jobs::set_progress(conn, &id, &worker, &progress))
            .await?)
    }

    /// Called at each batch boundary: stops the job when a cancel was asked for or the lease
    /// was lost. It reads the job's row, so a cancel is seen at the next boundary, not only
    /// at the next heartbeat.
    pub async fn checkpoint(&self) -> Result<(), JobError> {
        let (id, worker) = (self.job.id.clone(), self.worker.clone());
        let stop = self.stop.load(Ordering::Relaxed)
            || self
                .state
                .db
                .run(move |conn| jobs::must_stop(conn, &id, &worker))
                .await?;
        if stop {
            self.stop.store(true, Ordering::Relaxed);
            Err(JobError::fatal(
                "cancelled",
                "the job was cancelled or lost its lease",
            ))
        } else {
            Ok(())
        }
    }
}

/// Starts the configured number of workers on the current runtime.
pub fn spawn_workers(state: AppState) {
    for n in 0..state.settings.workers {
        let worker = format!(
            "{}-{}-{n}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let state = state.clone();
        actix_web::rt::spawn(async move { worker_loop(state, worker).await });
    }
}

async fn worker_loop(state: AppState, worker: String) {
    let lease = micros(state.settings.job_lease);
    loop {
        let claimed = {
            let worker = worker.clone();
            state
                .db
                .run(move |conn| jobs::claim(conn, &worker, lease))
                .await
        };
        match claimed {
            Ok(Some(job)) => run(&state, job, &worker).await,
            Ok(None) => actix_web::rt::time::sleep(state.settings.job_poll).await,
            Err(e) => {
                tracing::warn!(error = %e, "claiming a job failed");
                actix_web::rt::time::sleep(state.settings.job_poll).await;
            }
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

async fn run(state: &AppState, job: JobRow, worker: &str) {
    let span = tracing::info_span!("job", job = %job.id, kind = %job.kind, org = %job.org_name, attempt = job.tries);
    run_claimed(state, job, worker).instrument(span).await;
}

async fn run_claimed(state: &AppState, job: JobRow, worker: &str) {
    tracing::info!("job started");
    let stop = Arc::new(AtomicBool::new(false));
    let heartbeat = actix_web::rt::spawn(heartbeat(
        state.clone(),
        job.id.clone(),
        worker.to_owned(),
        stop.clone(),
    ));
    let ctx = JobContext {
        state: state.clone(),
        job: job.clone(),
        worker: worker.to_owned(),
        stop,
    };
    let _ = ctx
        .info(
            "Start",
            format!("try {} of {} on worker {worker}", job.tries, job.max_tries),
        )
        .await;
    let outcome = match AssertUnwindSafe(execute(&ctx)).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(_) => Err(JobError::retryable(
            "job_panicked",
            "the job's work panicked; the service log has the details",
        )),
    };
    heartbeat.abort();
    match &outcome {
        Ok((status, _)) => {
            let _ = ctx.info("Finish", format!("{status}")).await;
        }
        Err(e) => {
            let _ = ctx
                .log(vec![ctx.entry(
                    LogLevel::Error,
                    "Finish",
                    format!("{}: {}", e.code, e.message),
                )])
                .await;
        }
    }
    let failure = outcome.as_ref().err().cloned();
    let outcome_label = match &outcome {
        Ok((status, _)) => status.as_str().to_owned(),
        Err(e) => e.code.clone(),
    };
    state
        .metrics
        .job_runs
        .get_or_create(&crate::metrics::JobRunLabels {
            kind: job.kind.clone(),
            outcome: outcome_label,
        })
        .inc();
    let backoff = state.settings.job_backoff;
    let (id, w) = (job.id.clone(), worker.to_owned());
    let finished = state
        .db
        .run(move |conn| {
            jobs::finish(conn, &id, &w, outcome, |tries| {
                let factor =
                    2_i64.saturating_pow(u32::try_from(tries.max(1) - 1).unwrap_or(0).min(20));
                micros(backoff).saturating_mul(factor).min(3_600_000_000)
            })
        })
        .await;
    match finished {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("the job's lease was lost before it finished; another worker owns it")
        }
        Err(e) => tracing::warn!(error = %e, "recording the job's outcome failed"),
    }
    if let Some(e) = failure {
        tracing::warn!(code = %e.code, retryable = e.retryable, "job run failed: {}", e.message);
        after_failure(state, &job).await;
    } else {
        tracing::info!("job finished");
    }
}

/// A connect that failed for good leaves its connection `Failed`, with the reason.
async fn after_failure(state: &AppState, job: &JobRow) {
    if job.kind() != Some(JobKind::Connect) {
        return;
    }
    let (id, org) = (job.id.clone(), job.org_name.clone());
    let result = state
        .db
        .run(move |conn| {
            let Some(now) = jobs::get(conn, &id)? else {
                return Ok(());
            };
            if now.status() != JobStatus::Failed {
                return Ok(());
            }
            let Some(org) = orgs::find(conn, &org)? else {
                return Ok(());
            };
            let error: Option<JobError> = now
                .error
                .as_deref()
                .and_then(|e| serde_json::from_str(e).ok());
            let message = error.map(|e| format!("{}: {}", e.code, e.message));
            connections::set_state(conn, org.id, "Failed", message.as_deref())
        })
        .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "marking the connection failed");
    }
}

async fn heartbeat(state: AppState, id: String, worker: String, stop: Arc<AtomicBool>) {
    let lease = micros(state.settings.job_lease);
    let every = (state.settings.job_lease / 3).max(Duration::from_millis(50));
    loop {
        actix_web::rt::time::sleep(every).await;
        let (i, w) = (id.clone(), worker.clone());
        match state
            .db
            .run(move |conn| jobs::heartbeat(conn, &i, &w, lease))
            .await
        {
            Ok((held, cancel)) => {
                if !held || cancel {
                    stop.store(true, Ordering::Relaxed);
                }
            }
            Err(e) => tracing::warn!(error = %e, "job heartbeat failed"),
        }
    }
}

/// Runs the job's work; a panic in it is a failed, retryable run, not a dead worker.
async fn execute(ctx: &JobContext) -> Result<(JobStatus, Summary), JobError> {
    let kind = ctx.job.kind().ok_or_else(|| {
        JobError::fatal(
            "unknown_job_kind",
            format!("this version cannot run '{}' jobs", ctx.job.kind),
        )
    })?;
    match kind {
        JobKind::Connect => crate::sync::connect::run(ctx).await,
        JobKind::UpdateMetadata => crate::sync::metadata::run(ctx).await,
        JobKind::Sync => crate::sync::run::run(ctx).await,
    }
}
