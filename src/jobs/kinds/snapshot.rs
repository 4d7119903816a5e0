//! Snapshots: a Get (server → client) or a Send (client → server), as their `SnapshotRequest`
//! asks.

use async_trait::async_trait;

use crate::domain::error::Code;
use crate::jobs::{Finished, Job, JobContext, JobError, JobKind};
use crate::wire::sync::SnapshotRequest;

pub struct GetSnapshotJob;
pub struct SendSnapshotJob;

async fn run(ctx: &JobContext) -> Result<Finished, JobError> {
    let request: SnapshotRequest =
        serde_json::from_value(ctx.job.params.get().clone()).map_err(|e| {
            JobError::fatal(
                Code::InvalidParams,
                format!("the job's parameters do not parse: {e}"),
            )
        })?;
    Ok(crate::sync::snapshot::run(&ctx.engine, ctx, &ctx.job.org_name, request).await?)
}

#[async_trait]
impl Job for GetSnapshotJob {
    const KIND: JobKind = JobKind::GetSnapshot;

    async fn run(&self, ctx: &JobContext) -> Result<Finished, JobError> {
        run(ctx).await
    }
}

#[async_trait]
impl Job for SendSnapshotJob {
    const KIND: JobKind = JobKind::SendSnapshot;

    async fn run(&self, ctx: &JobContext) -> Result<Finished, JobError> {
        run(ctx).await
    }
}
