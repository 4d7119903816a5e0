//! The change feed: what changed since a token, in version order.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChangesRequest {
    /// The `Next` of an earlier read; absent: every live record.
    #[serde(default)]
    pub since: Option<String>,
    /// Only these entities.
    #[serde(default)]
    pub entities: Option<Vec<String>>,
    /// Filters as a `<SyncFilters>` document (escaped text or CDATA in XML).
    #[serde(default)]
    pub sync_filters_xml: Option<String>,
    /// The same filters in their JSON form, by entity.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sync_filters: Option<Value>,
    /// Changes per page, 1 to 10000 (1000 when absent).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 10000)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ChangeOp {
    Upsert,
    Delete,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    pub entity: String,
    pub id: String,
    pub op: ChangeOp,
    /// `OutOfScope` when a record is reported deleted because it no longer matches the filters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub version: i64,
    pub modified_on: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Box<RawValue>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// The token to read on from.
    pub next: String,
    /// True when more changes wait past `Next`.
    pub more: bool,
}
