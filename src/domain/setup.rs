//! The settings of a connection that have rules of their own.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::filter::{FilterError, SyncFilters};

/// What a sync may do on the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SyncMode {
    /// The client ends with exactly the server's in-scope records.
    #[default]
    Mirror,
    /// Creates and updates, never deletes on the client.
    Additive,
}

/// Who wins when both sides changed a record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ConflictPolicy {
    #[default]
    ServerWins,
    ClientWins,
    ClientWinsFull,
    Manual,
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ConnectionState {
    /// The Connect job has not finished yet.
    Connecting,
    Connected,
    /// The Connect job failed for good; `LastError` says why.
    Failed,
    /// Shown, never stored: connected, and a sync job of the org is held by the delete guard
    /// (`HeldJob` names it) until it is approved or cancelled.
    Held,
}

wire_names!(SyncMode { Mirror, Additive });
wire_names!(ConflictPolicy {
    ServerWins,
    ClientWins,
    ClientWinsFull,
    Manual
});
wire_names!(ConnectionState {
    Connecting,
    Connected,
    Failed,
    Held
});

/// Filters as a connection was given them, kept until the server's metadata can type them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FilterSource {
    Xml(String),
    Json(serde_json::Value),
}

impl FilterSource {
    /// Parses the filters (their grammar, not yet their types).
    pub fn parse(&self) -> Result<SyncFilters, FilterError> {
        match self {
            Self::Xml(text) => SyncFilters::parse_xml(text),
            Self::Json(value) => SyncFilters::from_json(value),
        }
    }
}
