//! The backends a connection can reach. The engine talks to a [`Provider`] and never knows
//! which backend is behind it.

pub mod orgsync;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::api::batch::{BatchOperation, BatchResult};
use crate::api::changes::ChangeOp;
use crate::domain::metadata::EntityDef;

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ProviderInfo {
    #[serde(rename = "ProviderID")]
    #[schema(example = "7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c")]
    pub provider_id: &'static str,
    #[schema(example = "orgsync")]
    pub name: &'static str,
    pub description: &'static str,
    /// False for a backend this version does not reach yet.
    pub available: bool,
}

pub const ORGSYNC_PROVIDER_ID: &str = "7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c";

pub const PROVIDERS: [ProviderInfo; 2] = [
    ProviderInfo {
        provider_id: ORGSYNC_PROVIDER_ID,
        name: "orgsync",
        description: "An org on an orgsync instance, over its REST API; Url is {base}/rest/v1/orgs/{server_org}",
        available: true,
    },
    ProviderInfo {
        provider_id: "3c8e1d5a-6f2b-4a9e-8d7c-1b0a9f8e7d6c",
        name: "sql",
        description: "Tables of an external PostgreSQL or SQLite database",
        available: false,
    },
];

/// The provider a `ProviderID` (GUID in any case, or short name) names.
pub fn find(id_or_name: &str) -> Option<&'static ProviderInfo> {
    let wanted = id_or_name.trim();
    PROVIDERS
        .iter()
        .find(|p| p.provider_id.eq_ignore_ascii_case(wanted) || p.name == wanted)
}

/// How to reach a server org.
#[derive(Clone)]
pub struct ProviderConfig {
    pub provider_id: String,
    pub url: String,
    pub user_name: String,
    pub password: String,
    /// Limit of every call to the backend.
    pub timeout: Duration,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("provider_id", &self.provider_id)
            .field("url", &self.url)
            .field("user_name", &self.user_name)
            .finish_non_exhaustive()
    }
}

/// Why a backend call failed, and whether trying again later can help.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    /// The backend refused the credentials.
    #[error("the server refused the credentials: {0}")]
    Auth(String),
    /// The server org, an entity or a record does not exist there.
    #[error("not found on the server: {message}")]
    NotFound { code: String, message: String },
    /// The change token is older than the server's tombstone horizon: read in full.
    #[error("the server's change token expired")]
    TokenExpired,
    /// The server answered with a 4xx it meant.
    #[error("the server refused the request ({status} {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// Unreachable, timed out, or a 5xx: worth retrying.
    #[error("the server is unavailable: {0}")]
    Unavailable(String),
}

impl ProviderError {
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
    /// The stable code of a job that failed on this.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Auth(_) => "server_auth_failed",
            Self::NotFound { .. } => "server_not_found",
            Self::TokenExpired => "token_expired",
            Self::Rejected { .. } => "server_rejected",
            Self::Unavailable(_) => "server_unavailable",
        }
    }
}

/// A read of the server's change feed.
#[derive(Debug, Clone, Default)]
pub struct ChangesQuery {
    pub since: Option<String>,
    pub entities: Vec<String>,
    /// Filters by entity in their JSON form.
    pub filters: Option<Value>,
    pub limit: u32,
}

/// One change read from the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoteChange {
    pub entity: String,
    pub id: String,
    pub op: ChangeOp,
    #[serde(default)]
    pub reason: Option<String>,
    pub version: i64,
    pub modified_on: DateTime<Utc>,
    #[serde(default)]
    pub attributes: Option<Map<String, Value>>,
}

/// A record read from the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoteRecord {
    pub id: String,
    pub entity: String,
    pub version: i64,
    pub created_on: DateTime<Utc>,
    pub modified_on: DateTime<Utc>,
    pub attributes: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoteChanges {
    pub changes: Vec<RemoteChange>,
    pub next: String,
    pub more: bool,
}

/// A backend the engine syncs with.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Checks the credentials (and keeps what it needs to call again).
    async fn authenticate(&self) -> Result<(), ProviderError>;
    /// The server org's entities.
    async fn metadata(&self) -> Result<Vec<EntityDef>, ProviderError>;
    /// A page of the server's changes.
    async fn changes(&self, query: &ChangesQuery) -> Result<RemoteChanges, ProviderError>;
    /// How many live records of `entity` the server holds (for progress); `None` when unknown.
    async fn count(&self, entity: &str) -> Result<Option<u64>, ProviderError>;
    /// One record as the server has it now; `None` when the server has no such record.
    async fn record(&self, entity: &str, id: &str) -> Result<Option<RemoteRecord>, ProviderError>;
    /// Writes a batch once: a retry with the same key applies nothing twice.
    async fn write_batch(
        &self,
        idempotency_key: &str,
        operations: &[BatchOperation],
    ) -> Result<Vec<BatchResult>, ProviderError>;
}

/// The provider of a connection.
pub fn connect(config: ProviderConfig) -> Result<Box<dyn Provider>, ProviderError> {
    match find(&config.provider_id) {
        Some(info) if info.provider_id == ORGSYNC_PROVIDER_ID => {
            Ok(Box::new(orgsync::OrgsyncProvider::new(config)?))
        }
        Some(info) => Err(ProviderError::Rejected {
            status: 422,
            code: "provider_not_available".to_owned(),
            message: format!(
                "the '{}' provider is not available in this version",
                info.name
            ),
        }),
        None => Err(ProviderError::Rejected {
            status: 422,
            code: "unknown_provider".to_owned(),
            message: format!("unknown provider '{}'", config.provider_id),
        }),
    }
}
