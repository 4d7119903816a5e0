//! UpdateMetadata ("update client"): the server's metadata replaces the client's.

use async_trait::async_trait;

use crate::jobs::{Finished, Job, JobContext, JobError, JobKind};

pub struct UpdateMetadataJob;

#[async_trait]
impl Job for UpdateMetadataJob {
    const KIND: JobKind = JobKind::UpdateMetadata;

    async fn run(&self, ctx: &JobContext) -> Result<Finished, JobError> {
        Ok(crate::sync::metadata::run(&ctx.engine, ctx, &ctx.job.org_name).await?)
    }
}
