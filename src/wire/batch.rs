//! Many writes in one request: operations, and one result per operation.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::problem::Problem;
use crate::domain::transaction::{TxError, TxStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum BatchOp {
    /// Creates the record, or changes the given attributes of an existing one.
    Upsert,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(remote = "Self", rename_all = "PascalCase", deny_unknown_fields)]
pub struct BatchOperation {
    pub op: BatchOp,
    pub entity: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    /// The version the writer saw (`0`: none); another current version fails the operation with 412.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BatchRequest {
    pub operations: Vec<BatchOperation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResult {
    pub index: usize,
    pub op: BatchOp,
    pub entity: String,
    pub id: String,
    /// The HTTP status this operation alone would have had: 200, 201, 204 or a 4xx.
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    /// On a connected client org: what became of the operation's transaction to the server.
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub transaction: Option<TransactionReceipt>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResponse {
    pub results: Vec<BatchResult>,
}

/// What became of one client write's transaction, told in the write's answer, in the words of
/// the transactions list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TransactionReceipt {
    pub transaction_id: String,
    /// The transaction's status, as `GET …/transactions/{id}` shows it: `Processed` (the server
    /// has it), `Pending` (the next sync sends it) or `Error` (no sync sends it again until
    /// `SetToPending`).
    pub status: TxStatus,
    /// Why it is in `Error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TxError>,
    /// What happens to it next, when it is not `Processed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

crate::objects_only!(BatchOperation);
