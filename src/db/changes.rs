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

/// At most `limit` rows above `since` in version order, as [`since`] reads them, but ending
/// early once they hold `max_bytes` of attributes (always at least one row): the rows, and
/// whether more are left. Read in small chunks, so a page of large records is never loaded
/// whole before it is cut.
pub fn since_bounded(
    conn: &mut DbConn,
    org_id: i64,
    after: i64,
    entities: Option<&[String]>,
    live_only: bool,
    limit: usize,
    max_bytes: usize,
) -> DbResult<(Vec<RecordRow>, bool)> {
    bounded(limit, max_bytes, |from: Option<&RecordRow>, n| {
        let from = from.map_or(after, |r| r.version);
        since(conn, org_id, from, entities, live_only, n)
    })
}

/// Rows read chunk by chunk through `next(last row read, how many)`, up to `limit` rows or
/// `max_bytes` of attributes; gives them and whether more are left.
pub fn bounded(
    limit: usize,
    max_bytes: usize,
    mut next: impl FnMut(Option<&RecordRow>, i64) -> DbResult<Vec<RecordRow>>,
) -> DbResult<(Vec<RecordRow>, bool)> {
    const CHUNK: usize = 100;
    // The first chunk is small: until a row is read, its size is unknown.
    const FIRST: usize = 8;
    let mut rows: Vec<RecordRow> = Vec::new();
    let mut bytes: usize = 0;
    loop {
        // One row past the limit tells whether more are left; a chunk asks for no more rows
        // than the bytes left can take at the size of the rows read so far.
        let room = match bytes.checked_div(rows.len()) {
            Some(average) => max_bytes.saturating_sub(bytes) / average.max(1) + 1,
            None => FIRST,
        };
        let want = (limit + 1 - rows.len()).min(CHUNK).min(room);
        let chunk = next(rows.last(), i64::try_from(want).unwrap_or(i64::MAX))?;
        let got = chunk.len();
        for row in chunk {
            if rows.len() == limit || (!rows.is_empty() && bytes + row.attributes.len() > max_bytes)
            {
                return Ok((rows, true));
            }
            bytes += row.attributes.len();
            rows.push(row);
        }
        if got < want {
            return Ok((rows, false));
        }
    }
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
