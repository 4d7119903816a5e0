//! The backends a connection can reach, by `ProviderID` (a GUID) or short name.

use serde::Serialize;
use utoipa::ToSchema;

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
pub const SQL_PROVIDER_ID: &str = "3c8e1d5a-6f2b-4a9e-8d7c-1b0a9f8e7d6c";

pub const PROVIDERS: [ProviderInfo; 2] = [
    ProviderInfo {
        provider_id: ORGSYNC_PROVIDER_ID,
        name: "orgsync",
        description: "An org on an orgsync instance, over its REST API; Url is {base}/rest/v1/orgs/{server_org}",
        available: true,
    },
    ProviderInfo {
        provider_id: SQL_PROVIDER_ID,
        name: "sql",
        description: "Tables of an external PostgreSQL or SQLite database; Url is postgres://host:port/db?schema=NAME or sqlite:///absolute/path.db",
        available: true,
    },
];

/// The provider a `ProviderID` (GUID in any case, or short name) names.
pub fn find(id_or_name: &str) -> Option<&'static ProviderInfo> {
    let wanted = id_or_name.trim();
    PROVIDERS
        .iter()
        .find(|p| p.provider_id.eq_ignore_ascii_case(wanted) || p.name == wanted)
}
