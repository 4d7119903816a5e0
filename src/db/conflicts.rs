//! Conflicts the Manual policy parks: both versions of a record, until a person takes a side.

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::schema::conflicts;
use super::{now_micros, DbConn, DbResult, Json};
use crate::domain::error::{Code, Refusal};
use crate::domain::transaction::{ConflictStatus, Take};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = conflicts)]
pub struct ConflictRow {
    pub id: String,
    pub org_id: i64,
    pub transaction_id: String,
    pub entity: String,
    pub record_id: String,
    /// The attributes the client changed.
    pub client_attributes: Option<Json<Map<String, Value>>>,
    /// The server's record when the conflict was found (absent: the server deleted it).
    pub server_record: Option<Json<Value>>,
    pub status: ConflictStatus,
    pub created_on: i64,
    pub resolved_on: Option<i64>,
    pub resolution: Option<Take>,
}

pub fn open(conn: &mut DbConn, row: &ConflictRow) -> DbResult<()> {
    diesel::insert_into(conflicts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn list(
    conn: &mut DbConn,
    org_id: i64,
    open_only: bool,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<ConflictRow>> {
    let mut q = conflicts::table
        .filter(conflicts::org_id.eq(org_id))
        .order(conflicts::id.asc())
        .limit(limit)
        .select(ConflictRow::as_select())
        .into_boxed();
    if open_only {
        q = q.filter(conflicts::status.eq(ConflictStatus::Open));
    }
    if let Some(a) = after {
        q = q.filter(conflicts::id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}

pub fn get(conn: &mut DbConn, org_id: i64, id: &str) -> DbResult<ConflictRow> {
    Ok(conflicts::table
        .filter(conflicts::org_id.eq(org_id))
        .filter(conflicts::id.eq(id))
        .select(ConflictRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            Refusal::new(
                Code::ConflictNotFound,
                format!("conflict '{id}' does not exist"),
            )
            .with("id", id)
        })?)
}

pub fn close(conn: &mut DbConn, id: &str, take: Take) -> DbResult<()> {
    diesel::update(conflicts::table.find(id))
        .set((
            conflicts::status.eq(ConflictStatus::Resolved),
            conflicts::resolution.eq(take),
            conflicts::resolved_on.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}
