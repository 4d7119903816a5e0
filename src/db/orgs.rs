//! Organizations and their counters (change sequence, tombstone horizon, metadata version).

use diesel::prelude::*;

use super::schema::{orgs, records};
use super::DbConn;
use super::{DbResult, Json};
use crate::domain::error::{org_not_found, Code, Refusal};
use crate::wire::orgs::{Quotas, RegistrationInfo};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orgs)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub display_name: Option<String>,
    pub registration_info: Option<Json<RegistrationInfo>>,
    pub quotas: Option<Json<Quotas>>,
    pub last_version: i64,
    pub purged_version: i64,
    pub metadata_version: i64,
    pub created_on: i64,
    /// Never reused: tokens bound to the org carry it.
    pub uid: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = orgs)]
pub struct NewOrg<'a> {
    pub name: &'a str,
    pub display_name: Option<&'a str>,
    pub registration_info: Option<Json<RegistrationInfo>>,
    pub quotas: Option<Json<Quotas>>,
    pub created_on: i64,
    pub uid: String,
}

/// What a change of an org sets (`None`: left as it is; `Some(None)`: cleared).
#[derive(Debug, Default)]
pub struct OrgChange {
    pub display_name: Option<Option<String>>,
    pub registration_info: Option<RegistrationInfo>,
    pub quotas: Option<Option<Quotas>>,
}

/// Changes the org's display name, registration info or quotas; gives it as it is now.
pub fn change(conn: &mut DbConn, name: &str, change: OrgChange) -> DbResult<OrgRow> {
    super::write_tx(conn, |conn| {
        let org = require(conn, name)?;
        let target = orgs::table.filter(orgs::id.eq(org.id));
        if let Some(display_name) = change.display_name {
            diesel::update(target)
                .set(orgs::display_name.eq(display_name))
                .execute(conn)?;
        }
        if let Some(info) = change.registration_info {
            diesel::update(target)
                .set(orgs::registration_info.eq(Some(Json::new(info))))
                .execute(conn)?;
        }
        if let Some(quotas) = change.quotas {
            diesel::update(target)
                .set(orgs::quotas.eq(quotas.map(Json::new)))
                .execute(conn)?;
        }
        by_id(conn, org.id)
    })
}

pub fn create(conn: &mut DbConn, org: &NewOrg<'_>) -> DbResult<OrgRow> {
    let inserted = diesel::insert_into(orgs::table).values(org).execute(conn);
    match inserted {
        Ok(_) => require(conn, org.name),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(Refusal::new(
            Code::OrgExists,
            format!("organization '{}' already exists", org.name),
        )
        .with("org", org.name)
        .into()),
        Err(e) => Err(e.into()),
    }
}

pub fn find(conn: &mut DbConn, name: &str) -> DbResult<Option<OrgRow>> {
    Ok(orgs::table
        .filter(orgs::name.eq(name))
        .select(OrgRow::as_select())
        .first(conn)
        .optional()?)
}

/// The org, or the 404 every caller gives for a missing one.
pub fn require(conn: &mut DbConn, name: &str) -> DbResult<OrgRow> {
    Ok(find(conn, name)?.ok_or_else(|| org_not_found(name))?)
}

/// A page of orgs in name order, after `after`.
pub fn list(conn: &mut DbConn, after: Option<&str>, limit: i64) -> DbResult<Vec<OrgRow>> {
    let mut q = orgs::table
        .select(OrgRow::as_select())
        .order(orgs::name.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(orgs::name.gt(after.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// Deletes the org and everything it holds; false when there was no such org.
pub fn delete(conn: &mut DbConn, name: &str) -> DbResult<bool> {
    super::write_tx(conn, |conn| {
        let Some(org) = find(conn, name)? else {
            return Ok(false);
        };
        // Records go first in one statement; the rest cascade with the org row.
        diesel::delete(records::table.filter(records::org_id.eq(org.id))).execute(conn)?;
        diesel::delete(orgs::table.filter(orgs::id.eq(org.id))).execute(conn)?;
        Ok(true)
    })
}

/// Takes the org's write lock inside a write transaction and gives its current counters. On
/// PostgreSQL this is the row lock that makes versions commit in the order they are taken, so
/// a reader of the change feed can never pass a version that commits later; on SQLite the
/// `BEGIN IMMEDIATE` of [`super::write_tx`] already serializes writers.
pub fn lock(conn: &mut DbConn, org_id: i64) -> DbResult<OrgRow> {
    Ok(
        per_backend!(conn, c => diesel::update(orgs::table.filter(orgs::id.eq(org_id)))
        .set(orgs::last_version.eq(orgs::last_version))
        .returning(OrgRow::as_returning())
        .get_result(c))?,
    )
}

/// Records the last version a write transaction used (under [`lock`]).
pub fn set_last_version(conn: &mut DbConn, org_id: i64, version: i64) -> DbResult<()> {
    diesel::update(orgs::table.filter(orgs::id.eq(org_id)))
        .set(orgs::last_version.eq(version))
        .execute(conn)?;
    Ok(())
}

/// Bumps the metadata version (under [`lock`]) and gives the new one.
pub fn bump_metadata_version(conn: &mut DbConn, org_id: i64) -> DbResult<i64> {
    Ok(
        per_backend!(conn, c => diesel::update(orgs::table.filter(orgs::id.eq(org_id)))
        .set(orgs::metadata_version.eq(orgs::metadata_version + 1))
        .returning(orgs::metadata_version)
        .get_result(c))?,
    )
}

pub fn by_id(conn: &mut DbConn, org_id: i64) -> DbResult<OrgRow> {
    Ok(orgs::table
        .find(org_id)
        .select(OrgRow::as_select())
        .first(conn)?)
}
