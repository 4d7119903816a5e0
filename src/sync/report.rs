//! How the engine tells what it is doing while a job runs: progress, log lines, and a look at
//! whether it must stop, at each batch boundary. The job worker implements it; the engine
//! never sees the worker.

use async_trait::async_trait;

use super::EngineError;
use crate::db::job_log::NewLog;
use crate::domain::jobs::{LogLevel, Summary};

#[async_trait]
pub trait Report: Send + Sync {
    /// The job whose log the lines go to (lines written in a batch's own transaction carry it).
    fn job_id(&self) -> &str;
    async fn log(&self, entries: Vec<NewLog>) -> Result<(), EngineError>;
    async fn progress(&self, phase: &str, done: u64, total: u64) -> Result<(), EngineError>;
    /// Called at each batch boundary: [`EngineError::Stopped`] when the job must stop.
    async fn checkpoint(&self) -> Result<(), EngineError>;
    /// The job was held by the delete guard and approved: its deletes go through.
    fn deletes_approved(&self) -> bool;
    /// What the job did before the delete guard held it (an approved job goes on from there).
    fn held_summary(&self) -> Option<Summary>;

    /// A log line of this job.
    fn entry(&self, level: LogLevel, action: &str, message: String) -> NewLog {
        NewLog::new(self.job_id(), level, action, message)
    }

    async fn info(&self, action: &str, message: String) -> Result<(), EngineError> {
        let entry = self.entry(LogLevel::Info, action, message);
        self.log(vec![entry]).await
    }
}
