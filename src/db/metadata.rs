//! Entity definitions of an org.

use diesel::prelude::*;

use super::schema::{entities, records};
use super::{orgs, DbConn, DbResult, Json};
use crate::domain::error::entity_not_found;
use crate::domain::metadata::EntityDef;

/// All entities of an org, in name order.
pub fn entities(conn: &mut DbConn, org_id: i64) -> DbResult<Vec<EntityDef>> {
    let rows: Vec<Json<EntityDef>> = entities::table
        .filter(entities::org_id.eq(org_id))
        .order(entities::name.asc())
        .select(entities::definition)
        .load(conn)?;
    Ok(rows.into_iter().map(Json::into_inner).collect())
}

pub fn entity(conn: &mut DbConn, org_id: i64, name: &str) -> DbResult<Option<EntityDef>> {
    let row: Option<Json<EntityDef>> = entities::table
        .filter(entities::org_id.eq(org_id))
        .filter(entities::name.eq(name))
        .select(entities::definition)
        .first(conn)
        .optional()?;
    Ok(row.map(Json::into_inner))
}

/// The entity, or a 404 naming it.
pub fn require_entity(conn: &mut DbConn, org_id: i64, name: &str) -> DbResult<EntityDef> {
    Ok(entity(conn, org_id, name)?.ok_or_else(|| entity_not_found(name))?)
}

/// Defines or redefines an entity in its own transaction; true when it is new. Bumps the
/// metadata version.
pub fn put_entity(conn: &mut DbConn, org_id: i64, def: &EntityDef) -> DbResult<bool> {
    super::write_tx(conn, |conn| {
        orgs::lock(conn, org_id)?;
        let created = store_entity(conn, org_id, def)?;
        orgs::bump_metadata_version(conn, org_id)?;
        Ok(created)
    })
}

/// Defines or redefines an entity inside the caller's write transaction; true when it is new.
pub fn store_entity(conn: &mut DbConn, org_id: i64, def: &EntityDef) -> DbResult<bool> {
    let definition = Json::new(def.clone());
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
pub fn drop_entity(conn: &mut DbConn, org_id: i64, name: &str) -> DbResult<bool> {
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
pub fn remove_entity(conn: &mut DbConn, org_id: i64, name: &str) -> DbResult<bool> {
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
