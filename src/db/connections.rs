//! Connections of client orgs and their links.

use diesel::prelude::*;

use super::schema::{connections, links};
use super::{now_micros, DbConn};
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = connections, treat_none_as_null = true)]
pub struct ConnectionRow {
    pub org_id: i64,
    /// The provider's GUID.
    pub provider: String,
    pub url: String,
    pub user_name: String,
    /// Sealed with the configured secret key; see [`crate::crypto`].
    pub password_enc: String,
    /// JSON array of entity names; `None`: every entity of the server.
    pub entities: Option<String>,
    /// The filters as given (`{"Xml": "…"}` or `{"Json": {…}}`), checked against the server's
    /// metadata by the Connect job.
    pub sync_filters: Option<String>,
    pub write_offline: bool,
    pub sync_mode: String,
    pub conflict_policy: String,
    pub sync_interval_secs: Option<i64>,
    pub state: String,
    pub last_error: Option<String>,
    pub last_sync_on: Option<i64>,
    pub created_on: i64,
    pub updated_on: i64,
}

pub fn get(conn: &mut DbConn, org_id: i64) -> Result<Option<ConnectionRow>, ApiError> {
    Ok(connections::table
        .find(org_id)
        .select(ConnectionRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn not_connected(org: &str) -> ApiError {
    ApiError::not_found(
        "not_connected",
        format!("organization '{org}' has no connection; ConnectAsync makes one"),
    )
    .with("org", org)
}

pub fn insert(conn: &mut DbConn, row: &ConnectionRow) -> Result<(), ApiError> {
    diesel::insert_into(connections::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save(conn: &mut DbConn, row: &ConnectionRow) -> Result<(), ApiError> {
    let mut row = row.clone();
    row.updated_on = now_micros();
    diesel::update(connections::table.find(row.org_id))
        .set(&row)
        .execute(conn)?;
    Ok(())
}

pub fn set_state(
    conn: &mut DbConn,
    org_id: i64,
    state: &str,
    error: Option<&str>,
) -> Result<(), ApiError> {
    diesel::update(connections::table.find(org_id))
        .set((
            connections::state.eq(state),
            connections::last_error.eq(error),
            connections::updated_on.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes the connection and its links; the org and its records stay. False when there was none.
pub fn delete(conn: &mut DbConn, org_id: i64) -> Result<bool, ApiError> {
    super::write_tx(conn, |conn| {
        diesel::delete(links::table.filter(links::org_id.eq(org_id))).execute(conn)?;
        Ok(diesel::delete(connections::table.find(org_id)).execute(conn)? == 1)
    })
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = links, treat_none_as_null = true)]
pub struct LinkRow {
    pub org_id: i64,
    pub entity: String,
    pub inbound: bool,
    pub outbound: bool,
    /// The entity's filter in its canonical JSON form.
    pub sync_filter: Option<String>,
    /// The server's change token the next download starts from.
    pub checkpoint: Option<String>,
    /// The next download reads the link in full (new link, changed filter, expired token).
    pub needs_full: bool,
    pub last_sync_on: Option<i64>,
}

pub fn links(conn: &mut DbConn, org_id: i64) -> Result<Vec<LinkRow>, ApiError> {
    Ok(links::table
        .filter(links::org_id.eq(org_id))
        .order(links::entity.asc())
        .select(LinkRow::as_select())
        .load(conn)?)
}

pub fn link(conn: &mut DbConn, org_id: i64, entity: &str) -> Result<Option<LinkRow>, ApiError> {
    Ok(links::table
        .find((org_id, entity))
        .select(LinkRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn save_link(conn: &mut DbConn, link: &LinkRow) -> Result<(), ApiError> {
    let n = diesel::update(links::table.find((link.org_id, link.entity.as_str())))
        .set(link)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(links::table)
            .values(link)
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_link(conn: &mut DbConn, org_id: i64, entity: &str) -> Result<(), ApiError> {
    diesel::delete(links::table.find((org_id, entity))).execute(conn)?;
    Ok(())
}
