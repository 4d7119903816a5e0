//! Background work: a durable queue in the database, claimed by workers with a lease and a
//! heartbeat, retried with exponential backoff, with a log per job.

pub mod scheduler;
pub mod worker;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum JobKind {
    /// Registers the connection: server metadata → client, links created.
    Connect,
    /// Server metadata → client ("update client").
    UpdateMetadata,
    /// Client changes up, server changes down.
    Sync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum JobStatus {
    Queued,
    InProcess,
    Completed,
    /// Some records failed, the rest went through.
    CompletedWithErrors,
    Failed,
    Cancelled,
}

use crate::domain::wire_names;

wire_names!(JobKind {
    Connect,
    UpdateMetadata,
    Sync
});
wire_names!(JobStatus {
    Queued,
    InProcess,
    Completed,
    CompletedWithErrors,
    Failed,
    Cancelled
});

impl JobStatus {
    pub const ALL: [Self; 6] = [
        Self::Queued,
        Self::InProcess,
        Self::Completed,
        Self::CompletedWithErrors,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::CompletedWithErrors | Self::Failed | Self::Cancelled
        )
    }
}

/// Where a running job is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Progress {
    pub phase: String,
    pub done: u64,
    pub total: u64,
}

/// What a job did to one entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct EntitySummary {
    /// Client transactions delivered to the server.
    #[serde(default)]
    pub uploaded: u64,
    pub created: u64,
    pub updated: u64,
    pub deleted: u64,
    /// Left alone: unchanged, or a deletion an Additive sync does not make.
    pub skipped: u64,
    pub failed: u64,
    pub conflicts: u64,
    /// The entity holds more records than its quota after the job (the job does not stop).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub over_quota: bool,
    /// DryRun: the first ids it would create, update and delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_ids: Option<BTreeMap<String, Vec<String>>>,
}

impl EntitySummary {
    /// Adds another part of the job's work on the same entity (the upload's to the download's).
    pub fn absorb(&mut self, other: EntitySummary) {
        self.uploaded += other.uploaded;
        self.created += other.created;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.conflicts += other.conflicts;
        self.over_quota |= other.over_quota;
        if other.first_ids.is_some() {
            self.first_ids = other.first_ids;
        }
    }
}

/// Per entity, what a job did.
pub type Summary = BTreeMap<String, EntitySummary>;

/// Why a job failed: a stable code and a sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct JobError {
    pub code: String,
    pub message: String,
    /// False when trying again cannot help (wrong password, missing entity…).
    #[serde(skip)]
    pub retryable: bool,
}

impl JobError {
    pub fn retryable(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            retryable: true,
        }
    }
    pub fn fatal(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            retryable: false,
        }
    }
}

impl From<crate::providers::ProviderError> for JobError {
    fn from(e: crate::providers::ProviderError) -> Self {
        Self {
            code: e.code().to_owned(),
            message: e.to_string(),
            retryable: e.retryable(),
        }
    }
}

impl From<crate::error::ApiError> for JobError {
    fn from(e: crate::error::ApiError) -> Self {
        // A local database hiccup is worth another try; anything else is a refusal.
        let retryable = e.status().is_server_error();
        Self {
            code: e.code().to_owned(),
            message: e.detail().to_owned(),
            retryable,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum LogLevel {
    Info,
    Warning,
    Error,
}

wire_names!(LogLevel {
    Info,
    Warning,
    Error
});
