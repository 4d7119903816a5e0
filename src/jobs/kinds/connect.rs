//! Connect: server metadata → client, links created, the connection marked connected. A
//! connect that fails for good leaves its connection `Failed`, with the reason.

use async_trait::async_trait;

use crate::jobs::{Finished, Job, JobContext, JobError, JobKind};

pub struct ConnectJob;

#[async_trait]
impl Job for ConnectJob {
    const KIND: JobKind = JobKind::Connect;

    async fn run(&self, ctx: &JobContext) -> Result<Finished, JobError> {
        Ok(crate::sync::connect::run(&ctx.engine, ctx, &ctx.job.org_name).await?)
    }

    async fn failed(&self, ctx: &JobContext, error: &JobError) {
        if let Err(e) = ctx.engine.connect_failed(&ctx.job.org_name, error).await {
            tracing::warn!(error = %e, "marking the connection failed");
        }
    }
}
