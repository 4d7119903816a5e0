//! The backends a connection can reach. The engine talks to a [`Provider`] and never knows
//! which backend is behind it.

pub mod orgsync;
pub mod policy;
pub mod sql;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::error::Code;
use crate::domain::metadata::EntityDef;
pub use crate::domain::provider::{
    find, ProviderInfo, ORGSYNC_PROVIDER_ID, PROVIDERS, SQL_PROVIDER_ID,
};
use crate::wire::batch::BatchOperation;
use crate::wire::changes::ChangeOp;
use crate::wire::compare::{DigestRange, Digests};
use crate::wire::explain::Explained;

/// How to reach a server org.
#[derive(Clone)]
pub struct ProviderConfig {
    pub provider_id: String,
    pub url: String,
    pub user_name: String,
    pub password: String,
    /// Limit of every call to the backend.
    pub timeout: Duration,
    /// Which addresses the backend may be reached at.
    pub policy: std::sync::Arc<policy::BackendPolicy>,
    /// Largest answer read from the backend.
    pub response_limit: usize,
    /// The admin consented to change capture in the backend (the sql provider's triggers).
    pub change_capture: bool,
    /// How long the backend keeps what a reader may still ask for (the change log).
    pub retention: Duration,
    /// Who this connection is to the backend: its own writes are marked with it, so they are
    /// not read back as changes while another connection's are (the sql provider).
    pub writer: String,
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
    /// The server refused the request, and meant it.
    #[error("the server refused the request ({code}): {message}")]
    Rejected { code: String, message: String },
    /// Unreachable, timed out, or a 5xx: worth retrying.
    #[error("the server is unavailable: {0}")]
    Unavailable(String),
    /// The connection's settings do not name a backend this version can reach.
    #[error("{message}")]
    Setup { code: Code, message: String },
}

impl ProviderError {
    pub fn retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
    /// The stable code of a job (or a request) that failed on this.
    pub fn code(&self) -> Code {
        match self {
            Self::Auth(_) => Code::ServerAuthFailed,
            Self::NotFound { .. } => Code::ServerNotFound,
            Self::TokenExpired => Code::TokenExpired,
            // A redirect is refused by orgsync itself and keeps the code it was given.
            Self::Rejected { code, .. } if code == Code::ServerRedirected.as_str() => {
                Code::ServerRedirected
            }
            Self::Rejected { .. } => Code::ServerRejected,
            Self::Unavailable(_) => Code::ServerUnavailable,
            Self::Setup { code, .. } => *code,
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

/// What the server made of one operation of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Applied; the server's new version of the record (none for a delete).
    Applied { version: Option<i64> },
    /// The server has no such record (or entity): its code and sentence.
    NotFound { code: String, message: String },
    /// The server's record is not at the operation's `IfVersion`: it changed meanwhile.
    Stale,
    /// The server refused the operation (it does not fit its metadata, …).
    Refused { code: String, message: String },
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
    ) -> Result<Vec<Written>, ProviderError>;
    /// How many of `entity`'s records `filters` (by entity, in their JSON form) keeps, and
    /// why each of `ids` is in or out, counted by the backend without sending its records.
    async fn explain(
        &self,
        entity: &str,
        filters: Option<&Value>,
        ids: &[String],
    ) -> Result<Explained, ProviderError>;
    /// Digests of `entity`'s records that `filters` keeps, over id ranges (Compare): each
    /// range cut into pieces of so many records or listed record by record, made by the
    /// backend without sending the records.
    async fn digests(
        &self,
        entity: &str,
        filters: Option<&Value>,
        ranges: &[DigestRange],
    ) -> Result<Digests, ProviderError>;
    /// What [`Provider::metadata`] left out of the backend's schema, and why, for the log.
    fn left_out(&self) -> Vec<String> {
        Vec::new()
    }
    /// Makes the backend ready to serve changes of the selected entities (the sql provider's
    /// change capture); what it did, for the log.
    async fn prepare(&self, _selected: &[EntityDef]) -> Result<Vec<String>, ProviderError> {
        Ok(Vec::new())
    }
    /// Removes from the backend what [`Provider::prepare`] made there.
    async fn unprepare(&self) -> Result<Vec<String>, ProviderError> {
        Ok(Vec::new())
    }
}

/// Checks a connection's `Url` for its provider before anything is stored.
pub fn check_url(provider: &ProviderInfo, url: &str) -> Result<(), String> {
    match provider.provider_id {
        ORGSYNC_PROVIDER_ID => orgsync::parse_url(url).map(|_| ()),
        SQL_PROVIDER_ID => sql::url::parse_url(url).map(|_| ()),
        _ => Ok(()),
    }
}

/// The provider of a connection.
pub fn connect(config: ProviderConfig) -> Result<Box<dyn Provider>, ProviderError> {
    match find(&config.provider_id) {
        Some(info) if info.provider_id == ORGSYNC_PROVIDER_ID => {
            Ok(Box::new(orgsync::OrgsyncProvider::new(config)?))
        }
        Some(info) if info.provider_id == SQL_PROVIDER_ID => {
            Ok(Box::new(sql::SqlProvider::new(config)?))
        }
        Some(info) => Err(ProviderError::Setup {
            code: Code::ProviderNotAvailable,
            message: format!(
                "the '{}' provider is not available in this version",
                info.name
            ),
        }),
        None => Err(ProviderError::Setup {
            code: Code::UnknownProvider,
            message: format!("unknown provider '{}'", config.provider_id),
        }),
    }
}
