//! The users of an org, who exchange their password for a token.

use diesel::prelude::*;

use super::schema::{provider_users, users};
use super::{DbConn, DbResult};
use crate::domain::access::Role;
use crate::domain::error::{Code, Refusal};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub org_id: i64,
    pub user_name: String,
    pub password_hash: String,
    pub role: Role,
    pub created_on: i64,
    /// Never reused: tokens of the user carry it.
    pub uid: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub org_id: i64,
    pub user_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub created_on: i64,
    pub uid: String,
}

pub fn create(conn: &mut DbConn, user: &NewUser<'_>) -> DbResult<UserRow> {
    match diesel::insert_into(users::table).values(user).execute(conn) {
        Ok(_) => Ok(users::table
            .filter(users::org_id.eq(user.org_id))
            .filter(users::user_name.eq(user.user_name))
            .select(UserRow::as_select())
            .first(conn)?),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(Refusal::new(
            Code::UserExists,
            format!("user '{}' already exists in this org", user.user_name),
        )
        .with("user_name", user.user_name)
        .into()),
        Err(e) => Err(e.into()),
    }
}

pub fn find(conn: &mut DbConn, org_id: i64, user_name: &str) -> DbResult<Option<UserRow>> {
    Ok(users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::user_name.eq(user_name))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// The user with the immutable id `uid`, if it still exists.
pub fn by_uid(conn: &mut DbConn, uid: &str) -> DbResult<Option<UserRow>> {
    Ok(users::table
        .filter(users::uid.eq(uid))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether what a token names still exists as it did: the org named `org` still has the id
/// `org_uid`, and the user `user_uid` still exists (in that org, when one is named).
pub fn alive(
    conn: &mut DbConn,
    org: Option<&str>,
    org_uid: Option<&str>,
    user_uid: Option<&str>,
) -> DbResult<bool> {
    let org_id = match (org, org_uid) {
        (Some(name), Some(uid)) => match super::orgs::find(conn, name)? {
            Some(o) if o.uid == uid => Some(o.id),
            _ => return Ok(false),
        },
        _ => None,
    };
    Ok(match (user_uid, org_id) {
        (Some(uid), Some(id)) => by_uid(conn, uid)?.is_some_and(|u| u.org_id == id),
        // A token without an org is a provider's: its user is a provider user.
        (Some(uid), None) => provider_by_uid(conn, uid)?.is_some(),
        (None, _) => true,
    })
}

/// A person who runs the service: signs in without an org and holds the provider role.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = provider_users)]
pub struct ProviderUserRow {
    pub id: i64,
    pub user_name: String,
    pub password_hash: String,
    pub created_on: i64,
    /// Never reused: tokens of the user carry it.
    pub uid: String,
}

/// Adds a provider user; a taken name is refused (`user_exists`).
pub fn create_provider(
    conn: &mut DbConn,
    user_name: &str,
    password_hash: &str,
    created_on: i64,
) -> DbResult<ProviderUserRow> {
    let inserted = diesel::insert_into(provider_users::table)
        .values((
            provider_users::user_name.eq(user_name),
            provider_users::password_hash.eq(password_hash),
            provider_users::created_on.eq(created_on),
            provider_users::uid.eq(super::new_uid()),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(find_provider(conn, user_name)?.ok_or(diesel::result::Error::NotFound)?),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(Refusal::new(
            Code::UserExists,
            format!("provider user '{user_name}' already exists"),
        )
        .with("user_name", user_name)
        .into()),
        Err(e) => Err(e.into()),
    }
}

pub fn find_provider(conn: &mut DbConn, user_name: &str) -> DbResult<Option<ProviderUserRow>> {
    Ok(provider_users::table
        .filter(provider_users::user_name.eq(user_name))
        .select(ProviderUserRow::as_select())
        .first(conn)
        .optional()?)
}

fn provider_by_uid(conn: &mut DbConn, uid: &str) -> DbResult<Option<ProviderUserRow>> {
    Ok(provider_users::table
        .filter(provider_users::uid.eq(uid))
        .select(ProviderUserRow::as_select())
        .first(conn)
        .optional()?)
}
