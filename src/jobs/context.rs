//! What a running job sees: the engine, its own row, and ways to report and to stop. It is the
//! engine's [`Report`] while the job runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use crate::db::job_log::{self, NewLog};
use crate::db::jobs::{self, JobRow};
use crate::domain::jobs::{Progress, Summary};
use crate::sync::{Engine, EngineError, Report};

pub struct JobContext {
    pub engine: Engine,
    pub job: JobRow,
    worker: String,
    /// Set by the heartbeat: a cancel was asked for, or the lease was lost.
    stop: Arc<AtomicBool>,
}

impl JobContext {
    pub fn new(engine: Engine, job: JobRow, worker: String, stop: Arc<AtomicBool>) -> Self {
        Self {
            engine,
            job,
            worker,
            stop,
        }
    }
}

#[async_trait]
impl Report for JobContext {
    fn job_id(&self) -> &str {
        &self.job.id
    }

    async fn log(&self, entries: Vec<NewLog>) -> Result<(), EngineError> {
        if entries.is_empty() {
            return Ok(());
        }
        Ok(self
            .engine
            .db
            .run(move |conn| job_log::append(conn, &entries))
            .await?)
    }

    async fn progress(&self, phase: &str, done: u64, total: u64) -> Result<(), EngineError> {
        let (id, worker) = (self.job.id.clone(), self.worker.clone());
        let progress = Progress::new(phase, done, total);
        Ok(self
            .engine
            .db
            .run(move |conn| jobs::set_progress(conn, &id, &worker, &progress))
            .await?)
    }

    fn deletes_approved(&self) -> bool {
        self.job.deletes_approved
    }

    fn held_summary(&self) -> Option<Summary> {
        let mut summary = self
            .job
            .deletes_approved
            .then(|| self.job.summary.get().clone())?;
        for entity in summary.values_mut() {
            entity.planned_deletes = 0;
        }
        Some(summary)
    }

    /// Stops the job when a cancel was asked for or the lease was lost. It reads the job's
    /// row, so a cancel is seen at the next boundary, not only at the next heartbeat.
    async fn checkpoint(&self) -> Result<(), EngineError> {
        let (id, worker) = (self.job.id.clone(), self.worker.clone());
        let stop = self.stop.load(Ordering::Relaxed)
            || self
                .engine
                .db
                .run(move |conn| jobs::must_stop(conn, &id, &worker))
                .await?;
        if stop {
            self.stop.store(true, Ordering::Relaxed);
            Err(EngineError::Stopped)
        } else {
            Ok(())
        }
    }
}
