//! What Compare reads of an org's records: pages of live records of an id range in id order
//! (ids compare byte by byte on both databases), their digests only where no filter needs
//! their attributes.

use std::collections::HashSet;

use diesel::prelude::*;

use super::records::{RecordRow, CHUNK};
use super::schema::{records, transactions};
use super::{DbConn, DbResult, MultiBackend};
use crate::domain::digest::IdRange;
use crate::domain::transaction::TxStatus;

/// The live records of `entity` in `range`, after `after` (its start when none), in id order.
fn in_range<'a>(
    org_id: i64,
    entity: &str,
    range: &IdRange,
    after: Option<&str>,
    limit: i64,
) -> records::BoxedQuery<'a, MultiBackend> {
    let mut q = records::table
        .filter(records::org_id.eq(org_id))
        .filter(records::entity.eq(entity.to_owned()))
        .filter(records::deleted.eq(false))
        .order(records::id.asc())
        .limit(limit)
        .into_boxed();
    match (after, &range.from) {
        (Some(after), _) => q = q.filter(records::id.gt(after.to_owned())),
        (None, Some(from)) => q = q.filter(records::id.ge(from.clone())),
        (None, None) => {}
    }
    if let Some(to) = &range.to {
        q = q.filter(records::id.lt(to.clone()));
    }
    q
}

/// A page of the ids and stored digests of live records of `entity` in `range`, after `after`.
pub fn page(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    range: &IdRange,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<(String, Option<Vec<u8>>)>> {
    Ok(in_range(org_id, entity, range, after, limit)
        .select((records::id, records::digest))
        .load(conn)?)
}

/// A page of the live records of `entity` in `range`, after `after` (for a filter).
pub fn rows(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    range: &IdRange,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<RecordRow>> {
    Ok(in_range(org_id, entity, range, after, limit)
        .select(RecordRow::as_select())
        .load(conn)?)
}

/// Which of `ids` have a client write that is not delivered yet (Pending or Error).
pub fn with_open_transactions(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    ids: &[String],
) -> DbResult<HashSet<String>> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let found: Vec<String> = transactions::table
            .filter(transactions::org_id.eq(org_id))
            .filter(transactions::entity.eq(entity.to_owned()))
            .filter(transactions::status.eq_any(TxStatus::OPEN))
            .filter(transactions::record_id.eq_any(chunk))
            .select(transactions::record_id)
            .distinct()
            .load(conn)?;
        out.extend(found);
    }
    Ok(out)
}
