//! The users of an org, who exchange their password for a token.

use diesel::prelude::*;

use super::schema::users;
use super::DbConn;
use crate::error::ApiError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub org_id: i64,
    pub user_name: String,
    pub password_hash: String,
    pub role: String,
    pub created_on: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub org_id: i64,
    pub user_name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub created_on: i64,
}

pub fn create(conn: &mut DbConn, user: &NewUser<'_>) -> Result<UserRow, ApiError> {
    match diesel::insert_into(users::table).values(user).execute(conn) {
        Ok(_) => Ok(users::table
            .filter(users::org_id.eq(user.org_id))
            .filter(users::user_name.eq(user.user_name))
            .select(UserRow::as_select())
            .first(conn)?),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(ApiError::conflict(
            "user_exists",
            format!("user '{}' already exists in this org", user.user_name),
        )
        .with("user_name", user.user_name)),
        Err(e) => Err(e.into()),
    }
}

pub fn find(conn: &mut DbConn, org_id: i64, user_name: &str) -> Result<Option<UserRow>, ApiError> {
    Ok(users::table
        .filter(users::org_id.eq(org_id))
        .filter(users::user_name.eq(user_name))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}
