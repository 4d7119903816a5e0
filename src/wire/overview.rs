//! What the admin console's lists show at a glance: every connection with its state and its
//! queues, and an org's transactions counted by status.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::jobs::{JobKind, JobStatus, Progress};
use crate::domain::setup::ConnectionState;

/// `GET /rest/v1/sync/connections`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionList {
    pub connections: Vec<ConnectionSummary>,
}

/// A client org's connection as a list shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ConnectionSummary {
    pub org: String,
    #[serde(rename = "ProviderID")]
    pub provider_id: String,
    /// The provider's short name (`orgsync`, `sql`).
    pub provider: String,
    pub url: String,
    /// `Held` while a job of the org waits for `Approve` or `Cancel`.
    pub state: ConnectionState,
    /// When the last sync completed.
    pub last_sync_on: Option<DateTime<Utc>>,
    /// Seconds since then.
    pub lag_seconds: Option<i64>,
    /// Client transactions waiting for the next sync.
    pub pending: i64,
    /// Client transactions the server refused, waiting in `Error`.
    pub errors: i64,
    /// Jobs of the org held by the delete guard.
    pub held_jobs: Vec<String>,
    /// The org's oldest job that is queued or running.
    pub active_job: Option<ActiveJob>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ActiveJob {
    pub job_id: String,
    pub kind: JobKind,
    pub status: JobStatus,
    pub progress: Progress,
}

/// `GET /rest/v1/sync/{org}/transactions/counts`: the org's transactions by status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TransactionCounts {
    pub all: i64,
    pub pending: i64,
    pub processed: i64,
    pub error: i64,
    pub archived: i64,
}
