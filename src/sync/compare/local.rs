//! An org's digests of its own records: what a server org answers a Compare with
//! ([`Engine::digests_org`], which the orgsync provider calls), and what a client org counts
//! of its own records into the pieces its server cut.

use std::collections::BTreeMap;

use chrono::Utc;

use super::super::explain::typed;
use super::super::feed::filterable;
use super::super::{Engine, EngineError};
use crate::db::records::{self, RecordRow};
use crate::db::{digests, metadata, orgs, DbConn, DbError};
use crate::domain::digest::{self, BucketDigest, IdRange, RecordDigest, Tally};
use crate::domain::filter::ValidFilters;
use crate::wire::compare::{DigestRequest, Digests, RangeAnswer};

/// Records read per page.
const PAGE: i64 = 10_000;

fn corrupt(entity: &str, id: &str) -> DbError {
    DbError::Corrupt(format!(
        "records ({entity}, {id}): the stored digest or attributes do not read back"
    ))
}

/// The stored digest of a row, or its attributes' when it was written before digests were
/// kept.
fn digest_of(row: &RecordRow) -> Result<RecordDigest, DbError> {
    row.digest
        .as_deref()
        .and_then(|d| RecordDigest::try_from(d).ok())
        .or_else(|| digest::stored_digest(&row.id, &row.attributes))
        .ok_or_else(|| corrupt(&row.entity, &row.id))
}

/// Calls `each` with the id and digest of every live record of `entity` in `range` that
/// `filters` keeps, in id order, reading a page at a time.
pub(super) fn walk(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    filters: Option<&ValidFilters>,
    range: &IdRange,
    mut each: impl FnMut(&str, &RecordDigest),
) -> Result<(), EngineError> {
    let now = Utc::now();
    let mut after: Option<String> = None;
    loop {
        let (read, last) = match filters {
            // Without a filter only ids and digests are read.
            None => {
                let page = digests::page(conn, org_id, entity, range, after.as_deref(), PAGE)?;
                for (id, stored) in &page {
                    let digest = match stored.as_deref().map(RecordDigest::try_from) {
                        Some(Ok(d)) => d,
                        _ => {
                            let row = records::get(conn, org_id, entity, id)?
                                .ok_or_else(|| corrupt(entity, id))?;
                            digest_of(&row)?
                        }
                    };
                    each(id, &digest);
                }
                (page.len(), page.last().map(|p| p.0.clone()))
            }
            Some(f) => {
                let rows = digests::rows(conn, org_id, entity, range, after.as_deref(), PAGE)?;
                for row in &rows {
                    if f.matches(entity, &filterable(row)?, now) {
                        each(&row.id, &digest_of(row)?);
                    }
                }
                (rows.len(), rows.last().map(|r| r.id.clone()))
            }
        };
        match last {
            Some(id) if read as i64 == PAGE => after = Some(id),
            _ => return Ok(()),
        }
    }
}

/// A client's own records of `range` counted into the pieces starting at `starts`.
pub(super) fn tally(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    range: &IdRange,
    starts: Vec<Option<String>>,
) -> Result<Vec<BucketDigest>, EngineError> {
    let mut tally = Tally::new(starts);
    walk(conn, org_id, entity, None, range, |id, d| tally.push(id, d))?;
    Ok(tally.finish())
}

/// A client's own records of `range`, by id.
pub(super) fn list(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    range: &IdRange,
) -> Result<BTreeMap<String, RecordDigest>, EngineError> {
    let mut out = BTreeMap::new();
    walk(conn, org_id, entity, None, range, |id, d| {
        out.insert(id.to_owned(), *d);
    })?;
    Ok(out)
}

impl Engine {
    /// The digests of an org's own records that a digest request asks for: each range cut
    /// into pieces or listed, reading only ids and stored digests unless a filter needs more.
    pub async fn digests_org(&self, org: &str, req: DigestRequest) -> Result<Digests, EngineError> {
        req.check()?;
        let org = org.to_owned();
        self.db
            .run(move |conn| {
                let org = orgs::require(conn, &org)?;
                let def = metadata::require_entity(conn, org.id, &req.entity)?;
                let filters = typed(req.sync_filters.as_ref(), &def)?;
                let mut out = Digests::default();
                for range in &req.ranges {
                    let mut answer = RangeAnswer::new(range);
                    walk(
                        conn,
                        org.id,
                        &req.entity,
                        filters.as_ref(),
                        &range.id_range(),
                        |id, d| answer.push(id, d),
                    )?;
                    out.ranges.push(answer.finish());
                }
                Ok(out)
            })
            .await
    }
}
