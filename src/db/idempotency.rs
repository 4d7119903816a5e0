//! Responses stored under a caller's `Idempotency-Key`, scoped to an org, written in the same
//! transaction as the writes they describe, so a replay can never apply anything twice.

use diesel::prelude::*;

use super::schema::idempotency_keys;
use super::{now_micros, DbConn, DbResult};

pub struct Stored {
    pub request_hash: String,
    pub response: String,
}

pub fn find(conn: &mut DbConn, org_id: i64, key: &str) -> DbResult<Option<Stored>> {
    let row: Option<(String, String)> = idempotency_keys::table
        .filter(idempotency_keys::org_id.eq(org_id))
        .filter(idempotency_keys::key.eq(key))
        .select((idempotency_keys::request_hash, idempotency_keys::response))
        .first(conn)
        .optional()?;
    Ok(row.map(|(request_hash, response)| Stored {
        request_hash,
        response,
    }))
}

pub fn store(
    conn: &mut DbConn,
    org_id: i64,
    key: &str,
    request_hash: &str,
    response: &str,
) -> DbResult<()> {
    diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::org_id.eq(org_id),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(request_hash),
            idempotency_keys::response.eq(response),
            idempotency_keys::created_on.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}
