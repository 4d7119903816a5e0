//! Explain: how many of an entity's server records a filter keeps, and why named ones are in or
//! out — asked of a client org's link, answered where the data is.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The most records one Explain names.
pub const MAX_EXPLAINED: usize = 100;

/// The body of `POST /rest/v1/sync/{org}/links/{entity}/Explain`; every member is optional.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ExplainRequest {
    /// The entity's filter in its JSON form (`{"Type": "and", "Conditions": […]}`); absent
    /// (with `SyncFilterXml`): the link's own filter.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sync_filter: Option<Value>,
    /// The same as a `<filter>` element of FetchXML, or a whole `<SyncFilters>` document
    /// naming this entity (escaped text or CDATA in XML).
    #[serde(default)]
    pub sync_filter_xml: Option<String>,
    /// Records to explain one by one (at most 100).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub record_ids: Option<Vec<String>>,
}

/// The body of `POST /rest/v1/orgs/{org}/explain`: what a client's Explain asks of its server
/// org (the orgsync provider).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ServerExplainRequest {
    pub entity: String,
    /// Filters in their JSON form, by entity (only `Entity`'s is used); absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub sync_filters: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 100)]
    pub record_ids: Vec<String>,
}

/// What a filter keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Explained {
    /// The entity's records the filter keeps.
    pub in_scope: u64,
    /// The entity's records.
    pub total: u64,
    /// The named records, in the order named.
    pub records: Vec<ExplainedRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ExplainedRecord {
    pub id: String,
    /// False: the server has no such record.
    pub exists: bool,
    pub in_scope: bool,
    /// Each condition it fails, with its own value there (empty when in scope).
    pub failed: Vec<FailedCondition>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct FailedCondition {
    pub attribute: String,
    /// As the filter names it (`eq`, `begins-with`, …).
    pub operator: String,
    /// The condition's value (a list for `in`, `between`…; null for `null`, `not-null`).
    #[schema(value_type = Object)]
    pub value: Value,
    /// The record's value there (null when it has none).
    #[schema(value_type = Object)]
    pub actual: Value,
}

impl From<crate::domain::filter::Failed> for FailedCondition {
    fn from(f: crate::domain::filter::Failed) -> Self {
        Self {
            attribute: f.attribute,
            operator: f.operator.as_str().to_owned(),
            value: f.value,
            actual: f.actual,
        }
    }
}
