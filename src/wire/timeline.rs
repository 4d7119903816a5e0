//! A record's timeline: every event of one record across both directions, oldest first.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Timeline {
    pub entity: String,
    pub id: String,
    /// Oldest first.
    pub events: Vec<TimelineEvent>,
}

/// One event: what happened, when, and the job, transaction or conflict it belongs to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TimelineEvent {
    pub at: DateTime<Utc>,
    /// `Job` (an entry of a job's log about the record: a server version applied, a skip, a
    /// delivery, a conflict…), `ClientWrite` (a write on the client and its transaction),
    /// `ConflictOpened`, `ConflictResolved`, `Quarantined`, `Restored`.
    #[schema(example = "Job")]
    pub kind: String,
    /// What was done: the log entry's action (`Create`, `Update`, `Delete`, `Skip`,
    /// `Deliver`, `Conflict`…), a client write's operation, a quarantine's `Deleted` or
    /// `Overwritten`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The job's kind (`Sync`, `GetSnapshot`, `SendSnapshot`…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict_id: Option<String>,
    /// A transaction's status now (`Pending`, `Processed`, `Error`, `Archived`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tries: Option<i32>,
    /// A transaction's error code, or a log entry's level when it is not `Info`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How a transaction or a conflict was settled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Where a quarantined record was deleted or overwritten: `Client` or `Server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
