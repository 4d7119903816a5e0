//! Client writes on their way to the server (transactions) and the conflicts they meet: their
//! statuses, operations and resolutions.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum TxStatus {
    /// Waiting to be delivered (or sent, its answer not known yet).
    Pending,
    Processed,
    /// The server refused it (or could not be reached); `Error` says why.
    Error,
    /// Set aside by hand; never delivered.
    Archived,
}
wire_names!(TxStatus {
    Pending,
    Processed,
    Error,
    Archived
});

impl TxStatus {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Processed, Self::Error, Self::Archived];
    /// Not delivered yet: the download leaves their records alone.
    pub const OPEN: [Self; 2] = [Self::Pending, Self::Error];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum TxOp {
    Create,
    Update,
    Delete,
}
wire_names!(TxOp {
    Create,
    Update,
    Delete
});

/// How a transaction was settled other than by plain delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Resolution {
    /// A conflict settled by the ServerWins policy: the client's change was dropped.
    ServerWins,
    /// A conflict settled by ClientWins: the changed attributes are sent again, unchecked.
    ClientWins,
    /// A conflict settled by ClientWinsFull (or a person taking the client's side): the whole
    /// record is sent again, unchecked.
    ClientWinsFull,
    /// Created and deleted before delivery: the server never needed to hear of it.
    Collapsed,
    /// A person took the server's side of the conflict (`Resolve` with `Take: Server`).
    Server,
    /// A Get snapshot overrode the client's change with the server's record: never delivered.
    OverriddenBySnapshot,
    /// A Send snapshot carried the record to the server: its effect went with the snapshot.
    SentBySnapshot,
}
wire_names!(Resolution {
    ServerWins,
    ClientWins,
    ClientWinsFull,
    Collapsed,
    Server,
    OverriddenBySnapshot,
    SentBySnapshot
});

impl Resolution {
    /// Sent again without the version check: the client's side won a conflict.
    pub fn forces(self) -> bool {
        matches!(self, Self::ClientWins | Self::ClientWinsFull)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ConflictStatus {
    Open,
    Resolved,
}
wire_names!(ConflictStatus { Open, Resolved });

/// Which side a person takes when resolving a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Take {
    /// The server's record stays and comes to the client; the client's change is archived.
    Server,
    /// The client's whole record goes to the server.
    Client,
}
wire_names!(Take { Server, Client });

/// Why a transaction is in `Error`: the code and sentence of the refusal (or failure) it met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TxError {
    pub code: String,
    pub message: String,
}

impl TxError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}
