//! Every job kind this version can run, by its [`JobKind`].

use std::collections::HashMap;

use async_trait::async_trait;

use super::kinds::{
    CompareJob, ConnectJob, GetSnapshotJob, SendSnapshotJob, SyncJob, UpdateMetadataJob,
};
use super::{Finished, Job, JobContext, JobError, JobKind};

/// A [`Job`] as the worker holds it (the trait's constant kept out of the way).
#[async_trait]
trait Runner: Send + Sync {
    async fn run(&self, ctx: &JobContext) -> Result<Finished, JobError>;
    async fn failed(&self, ctx: &JobContext, error: &JobError);
}

#[async_trait]
impl<J: Job> Runner for J {
    async fn run(&self, ctx: &JobContext) -> Result<Finished, JobError> {
        Job::run(self, ctx).await
    }
    async fn failed(&self, ctx: &JobContext, error: &JobError) {
        Job::failed(self, ctx, error).await
    }
}

pub struct Registry(HashMap<JobKind, Box<dyn Runner>>);

impl Default for Registry {
    fn default() -> Self {
        let mut registry = Self(HashMap::new());
        registry.register(ConnectJob);
        registry.register(UpdateMetadataJob);
        registry.register(SyncJob);
        registry.register(GetSnapshotJob);
        registry.register(SendSnapshotJob);
        registry.register(CompareJob);
        registry
    }
}

impl Registry {
    fn register<J: Job>(&mut self, job: J) {
        self.0.insert(J::KIND, Box::new(job));
    }

    /// Runs the job `ctx` holds with the runner of its kind.
    pub async fn run(&self, ctx: &JobContext) -> Result<Finished, JobError> {
        match self.0.get(&ctx.job.kind) {
            Some(runner) => runner.run(ctx).await,
            None => Err(JobError::fatal(
                crate::domain::error::Code::UnknownJobKind,
                format!("this version cannot run '{}' jobs", ctx.job.kind),
            )),
        }
    }

    pub async fn failed(&self, ctx: &JobContext, error: &JobError) {
        if let Some(runner) = self.0.get(&ctx.job.kind) {
            runner.failed(ctx, error).await;
        }
    }
}
