//! What the sync web service of a client org is asked: connect, change the connection or a
//! link, sync.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::orgs::RegistrationInfo;
use crate::domain::safety::{DeleteGuard, MatchOn};
use crate::domain::setup::{ConflictPolicy, SyncMode};
use crate::domain::snapshot::{SnapshotDirection, SnapshotFilter, SnapshotFilters};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Direction {
    /// Upload, then download.
    #[default]
    Both,
    /// Server → client only.
    Inbound,
    /// Client → server only.
    Outbound,
}

/// The body of `SyncAsync`; every member is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SyncRequest {
    /// Only these linked entities (all inbound links when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Read every link in full; in Mirror mode client records the server lacks are removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<bool>,
    /// Per-item sync: just these records of the one entity in `Entities`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 10000)]
    pub record_ids: Option<Vec<String>>,
    /// Compute what would change, write nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ConnectRequest {
    pub sync_setup: SyncSetup,
}

/// How a client org connects to its server org.
#[derive(Deserialize, ToSchema)]
#[serde(remote = "Self", rename_all = "PascalCase", deny_unknown_fields)]
pub struct SyncSetup {
    /// The provider's GUID or short name (`GET /rest/v1/providers`).
    #[serde(rename = "ProviderID")]
    #[schema(example = "7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c")]
    pub provider_id: String,
    /// `{base}/rest/v1/orgs/{server_org}` for the orgsync provider.
    #[schema(example = "http://127.0.0.1:8081/rest/v1/orgs/contoso")]
    pub url: String,
    #[schema(min_length = 1, max_length = 256)]
    pub user_name: String,
    /// Stored encrypted; never returned.
    #[schema(min_length = 1, max_length = 1024)]
    pub password: String,
    #[serde(default)]
    pub registration_info: Option<RegistrationInfo>,
    /// The entities to sync; absent: all of the server's.
    #[serde(default)]
    pub entities: Option<Vec<String>>,
    /// A `<SyncFilters>` document (escaped text or CDATA in XML).
    #[serde(default)]
    pub sync_filters_xml: Option<String>,
    /// The same filters in their JSON form.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sync_filters: Option<Value>,
    /// true: client writes wait for the next sync; false (default): delivered at once.
    #[serde(default)]
    pub write_offline: Option<bool>,
    #[serde(default)]
    pub sync_mode: Option<SyncMode>,
    #[serde(default)]
    pub conflict_policy: Option<ConflictPolicy>,
    /// How often the periodic sync job runs: an ISO 8601 duration (`PT1H`), `1h`, `90m` or a
    /// number of seconds; at least a minute.
    #[serde(default)]
    pub sync_interval: Option<String>,
    /// Adopts the client's existing records on each link's first sync, by these attributes.
    #[serde(default)]
    pub match_on: Option<MatchOn>,
    /// The delete guard of the connection's jobs; absent: the default (500, 10 %).
    #[serde(default)]
    pub delete_guard: Option<DeleteGuard>,
    /// sql provider only: consent to create its change log and triggers in the database
    /// (listed in the README). Without it the Connect job fails with
    /// `change_capture_not_installed`, naming what it would create.
    #[serde(default)]
    pub install_change_capture: Option<bool>,
}

/// `null` and absent told apart: `Some(None)` clears.
pub(crate) fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ConnectionPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// A new selection; `null`: all of the server's. Brings the metadata again.
    #[serde(default, deserialize_with = "nullable")]
    pub entities: Option<Option<Vec<String>>>,
    /// New filters; `null` clears them. Changed links are read in full at the next sync.
    #[serde(default, deserialize_with = "nullable")]
    pub sync_filters_xml: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub sync_filters: Option<Option<Value>>,
    #[serde(default)]
    pub write_offline: Option<bool>,
    #[serde(default)]
    pub sync_mode: Option<SyncMode>,
    #[serde(default)]
    pub conflict_policy: Option<ConflictPolicy>,
    /// `null` stops the periodic sync.
    #[serde(default, deserialize_with = "nullable")]
    pub sync_interval: Option<Option<String>>,
    /// New MatchOn; `null` clears it. It applies to links that have not had their first sync.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<MatchOn>)]
    pub match_on: Option<Option<MatchOn>>,
    /// A new delete guard; `null` puts back the default.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DeleteGuard>)]
    pub delete_guard: Option<Option<DeleteGuard>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LinkPatch {
    #[serde(default)]
    pub inbound: Option<bool>,
    #[serde(default)]
    pub outbound: Option<bool>,
    /// The entity's filter in its JSON form (`{"Type": "and", "Conditions": […]}`); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub sync_filter: Option<Option<Value>>,
    /// The link's saved snapshot filter (`SnapshotRequest.Filters` overrides it for one run);
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<SnapshotFilter>)]
    pub snapshot_filter: Option<Option<SnapshotFilter>>,
}

/// The body of `snapshots`: a Get (server → client) or a Send (client → server), of every
/// link whose switch for that direction is on, or of the named ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SnapshotRequest {
    pub direction: SnapshotDirection,
    /// Only these links; absent: every link whose switch for the direction is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<String>>,
    /// Per entity, a filtered snapshot instead of a full one (overriding the link's saved
    /// `SnapshotFilter` for this run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, SnapshotFilter>>)]
    pub filters: Option<SnapshotFilters>,
    /// Count what it would create, update and delete on which side, write nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

crate::objects_only!(; read_only: SyncSetup);
