//! Background work: a durable queue in the database, claimed by workers with a lease and a
//! heartbeat, retried with exponential backoff, with a log per job. Each kind of job is a type
//! implementing [`Job`], in its own file under `kinds/`; the worker knows only the trait and
//! the [`registry::Registry`].

pub mod context;
pub mod kinds;
pub mod registry;
pub mod scheduler;
pub mod worker;

use async_trait::async_trait;

pub use crate::domain::jobs::{
    EntitySummary, Finished, JobError, JobKind, JobStatus, LogLevel, Progress, Summary,
};
pub use context::JobContext;

/// One kind of job: what it does when a worker runs it, and what it leaves behind when it
/// failed for good.
#[async_trait]
pub trait Job: Send + Sync + 'static {
    const KIND: JobKind;

    async fn run(&self, ctx: &JobContext) -> Result<Finished, JobError>;

    /// Called once the job has failed for good (no try left, or a failure trying again cannot
    /// mend). Nothing by default.
    async fn failed(&self, ctx: &JobContext, error: &JobError) {
        let _ = (ctx, error);
    }
}
