//! Entity definitions of an org.

use diesel::prelude::*;

use super::schema::{entities, records};
use super::{orgs, DbConn};
use crate::domain::metadata::EntityDef;
use crate::error::ApiError;

/// All entities of an org, in name order.
pub fn entities(conn: &mut DbConn, org_id: i64) -> Result<Vec<EntityDef>, ApiError> {
    let rows: Vec<String> = entities::table
        .filter(entities::org_id.eq(org_id))
        .order(entities::name.asc())
        .select(entities::definition)
        .load(conn)?;
    rows.iter().map(|d| parse(d)).collect()
}

pub fn entity(conn: &mut DbConn, org_id: i64, name: &str) -> Result<Option<EntityDef>, ApiError> {
    let row: Option<String> = entities::table
        .filter(entities::org_id.eq(org_id))
        .filter(entities::name.eq(name))
        .select(entities::definition)
        .first(conn)
        .optional()?;
    row.as_deref().map(parse).transpose()
}

/// The entity, or a 404 naming it.
pub fn require_entity(conn: &mut DbConn, org_id: i64, name: &str) -> Result<EntityDef, ApiError> {
    entity(conn, org_id, name)?.ok_or_else(|| entity_not_found(name))
}

pub fn entity_not_found(name: &str) -> ApiError {
    ApiError::not_found(
        "entity_not_found",
        format!("entity '{name}' is not defined in this org"),
    )
    .with("entity", name)
}

fn parse(definition: &str) -> Result<EntityDef, ApiError> {
    serde_json::from_str(definition)
        .map_err(|e| ApiError::internal(format!("stored entity definition: {e}")))
}

/// Defines or redefines an entity in its own transaction; true when it is new. Bumps the
/// metadata version.
pub fn put_entity(conn: &mut DbConn, org_id: i64, def: &EntityDef) -> Result<bool, ApiError> {
    super::write_tx(conn, |conn| {
        orgs::lock(conn, org_id)?;
        let created = store_entity(conn, org_id, def)?;
        orgs::bump_metadata_version(conn, org_id)?;
        Ok(created)
    })
}

/// Defines or redefines an entity inside the caller's write transaction; true when it is new.
pub fn store_entity(conn: &mut DbConn, org_id: i64, def: &EntityDef) -> Result<bool, ApiError> {
    let definition = serde_json::to_string(def).map_err(ApiError::internal)?;
    let updated = diesel::update(
        entities::table
            .filter(entities::org_id.eq(org_id))
            .filter(entities::name.eq(def.name.as_str())),
    )
    .set(entities::definition.eq(&definition))
    .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(entities::table)
            .values((
                entities::org_id.eq(org_id),
                entities::name.eq(def.name.as_str()),
                entities::definition.eq(&definition),
            ))
            .execute(conn)?;
    }
    Ok(updated == 0)
}

/// Drops an entity and its records in its own transaction; false when it was not defined.
pub fn drop_entity(conn: &mut DbConn, org_id: i64, name: &str) -> Result<bool, ApiError> {
    super::write_tx(conn, |conn| {
        orgs::lock(conn, org_id)?;
        let dropped = remove_entity(conn, org_id, name)?;
        if dropped {
            orgs::bump_metadata_version(conn, org_id)?;
        }
        Ok(dropped)
    })
}

/// Drops an entity and its records inside the caller's write transaction.
pub fn remove_entity(conn: &mut DbConn, org_id: i64, name: &str) -> Result<bool, ApiError> {
    let gone = diesel::delete(
        entities::table
            .filter(entities::org_id.eq(org_id))
            .filter(entities::name.eq(name)),
    )
    .execute(conn)?;
    if gone == 0 {
        return Ok(false);
    }
    diesel::delete(
        records::table
            .filter(records::org_id.eq(org_id))
            .filter(records::entity.eq(name)),
    )
    .execute(conn)?;
    Ok(true)
}
