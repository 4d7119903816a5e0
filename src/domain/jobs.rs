//! What a job is and what it reports: kinds, statuses, progress, the per-entity summary, the
//! error a failed run leaves, and the levels of its log.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{Code, Refusal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum JobKind {
    /// Registers the connection: server metadata → client, links created.
    Connect,
    /// Server metadata → client ("update client").
    UpdateMetadata,
    /// Client changes up, server changes down.
    Sync,
    /// Server → client, overriding the client's changes (NexJ's "Get snapshot").
    GetSnapshot,
    /// Client → server, overriding the server's changes (NexJ's "Send snapshot").
    SendSnapshot,
    /// Finds the drift between both sides by digests, without moving the data (and with
    /// `Repair`, syncs exactly the records that differ).
    Compare,
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
    /// Stopped by the delete guard before deleting: `Approve` lets it go on with its deletes,
    /// `Cancel` drops them.
    Held,
}

wire_names!(JobKind {
    Connect,
    UpdateMetadata,
    Sync,
    GetSnapshot,
    SendSnapshot,
    Compare
});
wire_names!(JobStatus {
    Queued,
    InProcess,
    Completed,
    CompletedWithErrors,
    Failed,
    Cancelled,
    Held
});

impl JobStatus {
    pub const ALL: [Self; 7] = [
        Self::Queued,
        Self::InProcess,
        Self::Completed,
        Self::CompletedWithErrors,
        Self::Failed,
        Self::Cancelled,
        Self::Held,
    ];

    /// The statuses of a job that is not done: only one of a kind per org may be in them.
    pub const ACTIVE: [Self; 3] = [Self::Queued, Self::InProcess, Self::Held];

    /// The statuses a job never leaves by itself.
    pub const FINISHED: [Self; 4] = [
        Self::Completed,
        Self::CompletedWithErrors,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn is_final(self) -> bool {
        Self::FINISHED.contains(&self)
    }

    /// `Run`: a queued, failed or cancelled job may be made runnable now.
    pub fn can_run(self) -> bool {
        matches!(self, Self::Queued | Self::Failed | Self::Cancelled)
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

impl Progress {
    pub fn new(phase: &str, done: u64, total: u64) -> Self {
        Self {
            phase: phase.to_owned(),
            done,
            total,
        }
    }
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
    /// Client transactions the server refused, in `Error`: no sync sends them again until
    /// `SetToPending`, and the job ends `CompletedWithErrors` while there are any.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stuck: u64,
    /// Client records that never came from the server and that nothing will deliver: left in
    /// place (a sync never destroys them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub local_only: u64,
    /// Existing client records adopted by a server record on the link's first sync (MatchOn).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub matched: u64,
    /// Client records whose MatchOn values match more than one record: left as they were.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ambiguous: u64,
    /// Deletes the job found and the delete guard holds until `Approve`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub planned_deletes: u64,
    /// The entity holds more records than its quota after the job (the job does not stop).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub over_quota: bool,
    /// Compare: the entity's records in scope on the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<u64>,
    /// Compare: the entity's records on the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<u64>,
    /// Compare: on the server, not on the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<u64>,
    /// Compare: on the client, no longer on the server or out of its filter (local-only
    /// records apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<u64>,
    /// Compare: on both, with different attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale: Option<u64>,
    /// Compare: different because a client write of the record waits for upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u64>,
    /// DryRun: the first ids it would create, update and delete. Compare: the first ids of
    /// each kind of difference (`Missing`, `Extra`, `Stale`, `LocalOnly`, `Pending`).
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
        self.local_only += other.local_only;
        self.matched += other.matched;
        self.ambiguous += other.ambiguous;
        self.planned_deletes += other.planned_deletes;
        self.over_quota |= other.over_quota;
        self.server = other.server.or(self.server);
        self.client = other.client.or(self.client);
        self.missing = other.missing.or(self.missing);
        self.extra = other.extra.or(self.extra);
        self.stale = other.stale.or(self.stale);
        self.pending = other.pending.or(self.pending);
        if other.first_ids.is_some() {
            self.first_ids = other.first_ids;
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Per entity, what a job did.
pub type Summary = BTreeMap<String, EntitySummary>;

/// How a run ended when it did not fail: its final status and what it did.
pub type Finished = (JobStatus, Summary);

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
    pub fn retryable(code: Code, message: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
            message: message.into(),
            retryable: true,
        }
    }

    pub fn fatal(code: Code, message: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
            message: message.into(),
            retryable: false,
        }
    }

    /// Why a job the delete guard held waits: how many deletes it planned, per entity.
    pub fn held(summary: &Summary) -> Self {
        let planned: Vec<String> = summary
            .iter()
            .filter(|(_, s)| s.planned_deletes > 0)
            .map(|(entity, s)| format!("{} of {entity}", s.planned_deletes))
            .collect();
        Self::fatal(
            Code::DeleteGuard,
            format!(
                "the delete guard holds {} planned deletes; Approve the job to make them or Cancel it to drop them",
                planned.join(", ")
            ),
        )
    }

    /// Whether the job stopped because it was cancelled (or lost its lease), not on a failure.
    pub fn is_cancel(&self) -> bool {
        self.code == Code::Cancelled.as_str()
    }
}

impl From<Refusal> for JobError {
    /// A rule refused the work: trying again cannot help.
    fn from(r: Refusal) -> Self {
        Self::fatal(r.code, r.detail)
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
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
