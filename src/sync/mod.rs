//! The engine: what the jobs of a connection do.

pub mod connect;
pub mod download;
pub mod metadata;
pub mod request;
pub mod run;
pub mod upload;

use std::collections::HashMap;

use crate::crypto::Sealer;
use crate::db::connections::{self, ConnectionRow};
use crate::db::orgs::{self, OrgRow};
use crate::domain::filter::ValidFilters;
use crate::domain::metadata::EntityDef;
use crate::domain::setup::FilterSource;
use crate::jobs::worker::JobContext;
use crate::jobs::JobError;
use crate::providers::{self, Provider, ProviderConfig};
use crate::AppState;

/// The org of a job and its connection.
pub async fn load(ctx: &JobContext) -> Result<(OrgRow, ConnectionRow), JobError> {
    let name = ctx.job.org_name.clone();
    ctx.state
        .db
        .run(move |conn| {
            let org = orgs::require(conn, &name)?;
            let connection =
                connections::get(conn, org.id)?.ok_or_else(|| connections::not_connected(&name))?;
            Ok((org, connection))
        })
        .await
        .map_err(|e| JobError::fatal(e.code(), e.detail()))
}

/// The provider behind a connection, with its password opened.
pub fn provider_for(
    state: &AppState,
    connection: &ConnectionRow,
) -> Result<Box<dyn Provider>, JobError> {
    let password = Sealer::new(&state.settings.secret_key)
        .open(&connection.password_enc)
        .map_err(|_| {
            JobError::fatal(
                "credentials_unreadable",
                "the connection's password cannot be opened with this process's ORGSYNC_SECRET_KEY; \
                 every process on one database must share the key",
            )
        })?;
    Ok(providers::connect(ProviderConfig {
        provider_id: connection.provider.clone(),
        url: connection.url.clone(),
        user_name: connection.user_name.clone(),
        password,
        timeout: state.settings.provider_timeout,
    })?)
}

/// The entities a connection selects from the server's: its list, or all of them. Names the
/// ones the server does not have.
pub fn select(
    connection: &ConnectionRow,
    server: &[EntityDef],
) -> Result<Vec<EntityDef>, JobError> {
    let Some(list) = &connection.entities else {
        return Ok(server.to_vec());
    };
    let wanted: Vec<String> =
        serde_json::from_str(list).map_err(|e| JobError::fatal("internal_error", e.to_string()))?;
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !server.iter().any(|d| d.name.as_str() == w.as_str()))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(JobError::fatal(
            "entity_not_on_server",
            format!("the server org has no entity {}", missing.join(", ")),
        ));
    }
    Ok(server
        .iter()
        .filter(|d| wanted.iter().any(|w| w == d.name.as_str()))
        .cloned()
        .collect())
}

/// The connection's filters typed by `metadata`, or the failure naming entity, attribute and operator.
pub fn check_filters(
    connection: &ConnectionRow,
    metadata: &[EntityDef],
) -> Result<Option<ValidFilters>, JobError> {
    let Some(text) = &connection.sync_filters else {
        return Ok(None);
    };
    let source: FilterSource =
        serde_json::from_str(text).map_err(|e| JobError::fatal("internal_error", e.to_string()))?;
    let defs: HashMap<&str, &EntityDef> = metadata.iter().map(|d| (d.name.as_str(), d)).collect();
    let invalid =
        |e: crate::domain::filter::FilterError| JobError::fatal("invalid_filter", e.message);
    let filters = source.parse().map_err(invalid)?;
    filters
        .validate(&|name| defs.get(name).copied())
        .map(Some)
        .map_err(invalid)
}

/// One entity's filter in its canonical JSON text, for its link.
pub fn link_filter(filters: Option<&ValidFilters>, entity: &str) -> Option<String> {
    let filters = filters?;
    filters.filter_for(entity)?;
    filters.to_json().get(entity).map(|f| f.to_string())
}
