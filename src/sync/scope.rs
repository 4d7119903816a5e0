//! What a connection takes from the server: the entities it selects, the filters typed by
//! the metadata and stored per link, and the checks of a sync request against its links.

use super::EngineError;
use crate::db::connections::{self, ConnectionRow};
use crate::db::{metadata, DbConn, Json};
use crate::domain::error::{Code, Refusal};
use crate::domain::filter::ValidFilters;
use crate::domain::metadata::EntityDef;
use crate::domain::names::{LogicalName, RecordId};
use crate::wire::sync::SyncRequest;

/// Checks a sync request against the connection's links.
pub fn check_sync_request(
    conn: &mut DbConn,
    org_id: i64,
    req: &SyncRequest,
) -> Result<(), EngineError> {
    let links = connections::links(conn, org_id)?;
    let invalid = |code: Code, field: &str, detail: String| -> EngineError {
        Refusal::new(code, detail)
            .field(field)
            .named_in_body()
            .into()
    };
    if let Some(entities) = &req.entities {
        if let Some(unknown) = entities
            .iter()
            .find(|e| !links.iter().any(|l| &l.entity == *e))
        {
            return Err(invalid(
                Code::LinkNotFound,
                "Entities",
                format!("entity '{unknown}' is not synced by this connection"),
            ));
        }
    }
    if let Some(ids) = &req.record_ids {
        if req.entities.as_ref().is_none_or(|e| e.len() != 1) {
            return Err(invalid(
                Code::InvalidField,
                "RecordIds",
                "RecordIds needs exactly one entity in Entities".to_owned(),
            ));
        }
        if ids.is_empty() || ids.len() > 10_000 {
            return Err(invalid(
                Code::InvalidField,
                "RecordIds",
                "RecordIds holds 1 to 10000 ids".to_owned(),
            ));
        }
        if let Some(bad) = ids.iter().find(|id| RecordId::parse(id.as_str()).is_err()) {
            return Err(invalid(
                Code::InvalidName,
                "RecordIds",
                format!("'{bad}' is not a record id"),
            ));
        }
        if req.full == Some(true) {
            return Err(invalid(
                Code::InvalidField,
                "Full",
                "a per-item sync (RecordIds) cannot also be Full".to_owned(),
            ));
        }
    }
    Ok(())
}

/// Types the connection's filters by the client's metadata (a copy of the server's) and
/// stores each link's; a link whose filter changed is read in full at the next sync.
pub fn retype_links(
    conn: &mut DbConn,
    org_id: i64,
    row: &ConnectionRow,
) -> Result<(), EngineError> {
    let defs = metadata::entities(conn, org_id)?;
    let filters = typed_filters(row, &defs)?;
    for mut link in connections::links(conn, org_id)? {
        let filter = link_filter(filters.as_ref(), &link.entity);
        if filter != link.sync_filter {
            link.sync_filter = filter;
            link.needs_full = true;
            connections::save_link(conn, &link)?;
        }
    }
    Ok(())
}

/// The entities a connection selects from the server's: its list, or all of them. Names the
/// ones the server does not have.
pub fn select(connection: &ConnectionRow, server: &[EntityDef]) -> Result<Vec<EntityDef>, Refusal> {
    let Some(wanted) = &connection.entities else {
        return Ok(server.to_vec());
    };
    let wanted: &[LogicalName] = wanted.get();
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !server.iter().any(|d| &d.name == *w))
        .map(LogicalName::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Refusal::new(
            Code::EntityNotOnServer,
            format!("the server org has no entity {}", missing.join(", ")),
        ));
    }
    Ok(server
        .iter()
        .filter(|d| wanted.contains(&d.name))
        .cloned()
        .collect())
}

/// The connection's filters typed by `metadata`, or the refusal naming entity, attribute and
/// operator.
pub fn typed_filters(
    connection: &ConnectionRow,
    metadata: &[EntityDef],
) -> Result<Option<ValidFilters>, Refusal> {
    let Some(source) = &connection.sync_filters else {
        return Ok(None);
    };
    let filters = source.get().parse()?;
    Ok(Some(filters.validate(&|name| {
        metadata.iter().find(|d| d.name.as_str() == name)
    })?))
}

/// One entity's filter in its canonical JSON form, for its link.
pub fn link_filter(
    filters: Option<&ValidFilters>,
    entity: &str,
) -> Option<Json<serde_json::Value>> {
    let filters = filters?;
    filters.filter_for(entity)?;
    filters.to_json().get(entity).cloned().map(Json::new)
}
