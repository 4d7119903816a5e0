//! Sync: client changes up, server changes down, as its `SyncRequest` asks.

use async_trait::async_trait;

use crate::domain::error::Code;
use crate::jobs::{Finished, Job, JobContext, JobError, JobKind};
use crate::wire::sync::SyncRequest;

pub struct SyncJob;

#[async_trait]
impl Job for SyncJob {
    const KIND: JobKind = JobKind::Sync;

    async fn run(&self, ctx: &JobContext) -> Result<Finished, JobError> {
        let request: SyncRequest =
            serde_json::from_value(ctx.job.params.get().clone()).map_err(|e| {
                JobError::fatal(
                    Code::InvalidParams,
                    format!("the job's parameters do not parse: {e}"),
                )
            })?;
        Ok(crate::sync::run::run(&ctx.engine, ctx, &ctx.job.org_name, request).await?)
    }
}
