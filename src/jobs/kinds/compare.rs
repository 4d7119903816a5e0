//! Compare: the drift between a client org and its server org, found by digests, as its
//! `CompareRequest` asks (and repaired when it says so).

use async_trait::async_trait;

use crate::domain::error::Code;
use crate::jobs::{Finished, Job, JobContext, JobError, JobKind};
use crate::wire::compare::CompareRequest;

pub struct CompareJob;

#[async_trait]
impl Job for CompareJob {
    const KIND: JobKind = JobKind::Compare;

    async fn run(&self, ctx: &JobContext) -> Result<Finished, JobError> {
        let request: CompareRequest = serde_json::from_value(ctx.job.params.get().clone())
            .map_err(|e| {
                JobError::fatal(
                    Code::InvalidParams,
                    format!("the job's parameters do not parse: {e}"),
                )
            })?;
        Ok(crate::sync::compare::run(&ctx.engine, ctx, &ctx.job.org_name, request).await?)
    }
}
