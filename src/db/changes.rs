//! The change feed: an org's records in version order since a token, and the purge of old
//! tombstones that moves the horizon a token must not predate.

use diesel::prelude::*;

use super::records::RecordRow;
use super::schema::{idempotency_keys, orgs, records};
use super::{write_tx, DbConn, DbResult};

/// Rows with a version above `since`, in version order, at most `limit`; only the named
/// entities when given; without tombstones when `live_only`.
pub fn since(
    conn: &mut DbConn,
    org_id: i64,
    since: i64,
    entities: Option<&[String]>,
    live_only: bool,
    limit: i64,
) -> DbResult<Vec<RecordRow>> {
    let mut q = records::table
        .filter(records::org_id.eq(org_id))
        .filter(records::version.gt(since))
        .order(records::version.asc())
        .limit(limit)
        .select(RecordRow::as_select())
        .into_boxed();
    if let Some(entities) = entities {
        q = q.filter(records::entity.eq_any(entities.to_vec()));
    }
    if live_only {
        q = q.filter(records::deleted.eq(false));
    }
    Ok(q.load(conn)?)
}

/// Removes tombstones (and stored idempotent responses) older than `cutoff_micros` in every
/// org, moving each org's horizon past the purged versions. Gives the number of tombstones
/// removed.
pub fn purge(conn: &mut DbConn, cutoff_micros: i64) -> DbResult<usize> {
    let org_ids: Vec<i64> = orgs::table.select(orgs::id).load(conn)?;
    let mut purged = 0;
    for org_id in org_ids {
        purged += write_tx(conn, |conn| -> DbResult<usize> {
            super::orgs::lock(conn, org_id)?;
            let old = records::table
                .filter(records::org_id.eq(org_id))
                .filter(records::deleted.eq(true))
                .filter(records::modified_on.lt(cutoff_micros));
            let horizon: Option<i64> =
                old.select(diesel::dsl::max(records::version)).first(conn)?;
            let Some(horizon) = horizon else { return Ok(0) };
            let n = diesel::delete(old).execute(conn)?;
            diesel::update(
                orgs::table
                    .filter(orgs::id.eq(org_id))
                    .filter(orgs::purged_version.lt(horizon)),
            )
            .set(orgs::purged_version.eq(horizon))
            .execute(conn)?;
            diesel::delete(
                idempotency_keys::table
                    .filter(idempotency_keys::org_id.eq(org_id))
                    .filter(idempotency_keys::created_on.lt(cutoff_micros)),
            )
            .execute(conn)?;
            Ok(n)
        })?;
    }
    Ok(purged)
}
