//! Records: reads, and the one write path every write goes through (single-record API, batch,
//! and later the sync engine). A write takes the org's next version under the org lock; a
//! delete leaves a tombstone.

use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::bulk;
use super::schema::records;
use super::DbResult;
use super::{now_micros, orgs, DbConn};
use crate::domain::digest::{self, RecordDigest};
use crate::domain::error::{self, Code, Refusal};
use crate::domain::metadata::EntityDef;
use crate::domain::names::RecordId;
use crate::domain::record::{self, check_required};

#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = records)]
// A `None` is written as NULL rather than left to the column's default (there is none): the
// INSERT then has one shape, and diesel's statement cache finds it without building its SQL.
#[diesel(treat_none_as_default_value = false)]
pub struct RecordRow {
    pub org_id: i64,
    pub entity: String,
    pub id: String,
    pub version: i64,
    pub created_version: i64,
    pub created_on: i64,
    pub modified_on: i64,
    pub deleted: bool,
    /// The attributes as a JSON object (`{}` on a tombstone).
    pub attributes: String,
    /// On a client org: the server's version of the record when it was last received.
    pub server_version: Option<i64>,
    /// The record's digest ([`digest::record_digest`]); none on a tombstone, and on a row
    /// written before digests were kept.
    pub digest: Option<Vec<u8>>,
}

/// Rows per multi-row statement: well under SQLite's limit of bound parameters.
pub(super) const CHUNK: usize = 500;

pub fn get(conn: &mut DbConn, org_id: i64, entity: &str, id: &str) -> DbResult<Option<RecordRow>> {
    Ok(records::table
        .filter(records::org_id.eq(org_id))
        .filter(records::entity.eq(entity))
        .filter(records::id.eq(id))
        .select(RecordRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of live records of an entity in id order, after `after`.
pub fn list(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<RecordRow>> {
    let mut q = records::table
        .filter(records::org_id.eq(org_id))
        .filter(records::entity.eq(entity.to_owned()))
        .filter(records::deleted.eq(false))
        .order(records::id.asc())
        .limit(limit)
        .select(RecordRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(records::id.gt(after.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// A page of live records of an entity in id order after `after`: at most `limit`, ending
/// early once they hold `max_bytes` of attributes; gives them and whether more are left.
pub fn list_bounded(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    after: Option<&str>,
    limit: usize,
    max_bytes: usize,
) -> DbResult<(Vec<RecordRow>, bool)> {
    let first = after.map(str::to_owned);
    super::changes::bounded(limit, max_bytes, |from: Option<&RecordRow>, n| {
        let from = from.map(|r| r.id.as_str()).or(first.as_deref());
        list(conn, org_id, entity, from, n)
    })
}

/// Makes restored records local-only again: they no longer hold a server version, so no sync
/// takes them for records that left the server. Inside the write transaction of the restore.
pub fn forget_server_version(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    ids: &[String],
) -> DbResult<()> {
    for chunk in ids.chunks(CHUNK) {
        diesel::update(
            records::table
                .filter(records::org_id.eq(org_id))
                .filter(records::entity.eq(entity))
                .filter(records::id.eq_any(chunk)),
        )
        .set(records::server_version.eq(None::<i64>))
        .execute(conn)?;
    }
    Ok(())
}

/// Live records of `entity` that never came from the server and that no open transaction
/// will deliver: local-only.
pub fn local_only(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    after: Option<&str>,
    limit: i64,
) -> DbResult<Vec<RecordRow>> {
    use super::schema::transactions;
    use crate::domain::transaction::TxStatus;
    let open = transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::entity.eq(entity.to_owned()))
        .filter(transactions::status.eq_any(TxStatus::OPEN))
        .select(transactions::record_id);
    let mut q = records::table
        .filter(records::org_id.eq(org_id))
        .filter(records::entity.eq(entity.to_owned()))
        .filter(records::deleted.eq(false))
        .filter(records::server_version.is_null())
        .filter(records::id.ne_all(open))
        .order(records::id.asc())
        .limit(limit)
        .select(RecordRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        q = q.filter(records::id.gt(after.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// Live records of `entity` whose attributes hold the string `id` (a lookup to it, perhaps:
/// the caller checks which attribute).
pub fn referring(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    id: &str,
) -> DbResult<Vec<RecordRow>> {
    // `%` and `_` in an id only widen the match; the caller checks each row.
    let quoted = format!("%\"{id}\"%");
    Ok(records::table
        .filter(records::org_id.eq(org_id))
        .filter(records::entity.eq(entity.to_owned()))
        .filter(records::deleted.eq(false))
        .filter(records::attributes.like(quoted))
        .order(records::id.asc())
        .select(RecordRow::as_select())
        .load(conn)?)
}

/// Live records of `entity`.
pub fn count(conn: &mut DbConn, org_id: i64, entity: &str) -> DbResult<u64> {
    let n: i64 = records::table
        .filter(records::org_id.eq(org_id))
        .filter(records::entity.eq(entity))
        .filter(records::deleted.eq(false))
        .count()
        .get_result(conn)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Live records per entity.
pub fn counts(conn: &mut DbConn, org_id: i64) -> DbResult<Vec<(String, i64)>> {
    Ok(records::table
        .filter(records::org_id.eq(org_id))
        .filter(records::deleted.eq(false))
        .group_by(records::entity)
        .select((records::entity, diesel::dsl::count_star()))
        .order(records::entity.asc())
        .load(conn)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    /// Fails when a live record has the id.
    Create,
    /// Creates, or replaces every attribute.
    Replace,
    /// Changes the given attributes of an existing record.
    Merge,
    /// Creates, or changes the given attributes.
    Upsert,
    Delete,
}

/// One write, its attributes already checked and normalized against the entity.
#[derive(Debug, Clone)]
pub struct WriteOp {
    pub entity: String,
    pub id: RecordId,
    pub kind: WriteKind,
    pub attributes: Map<String, Value>,
    /// A `Replace`'s attributes already in the text the store keeps (normalized, without their
    /// nulls, the required ones checked) with their digest, made by the caller outside the
    /// transaction: written as is, and `attributes` is not read.
    pub text: Option<StoredText>,
    pub precondition: Precondition,
    /// A write from the server (a sync): the server's version of the record, kept as the base
    /// of later client writes. `None` keeps the record's.
    pub server_version: Option<i64>,
}

/// A record's attributes as the store keeps them, and the record's digest.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredText {
    pub text: String,
    pub digest: RecordDigest,
}

/// What must hold before a write, or it fails with 412.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    None,
    /// A live record exists (`If-Match: *`).
    Exists,
    /// The record is at this version: the one the writer saw (`0`: it saw no record).
    Version(i64),
}

/// What one write came to: applied, or the problem that stopped it.
pub type Outcome = Result<Applied, Refusal>;

#[derive(Debug, Clone)]
pub enum Applied {
    Created(RecordRow),
    Updated(RecordRow),
    Deleted(RecordRow),
}

impl Applied {
    pub fn row(&self) -> &RecordRow {
        match self {
            Self::Created(r) | Self::Updated(r) | Self::Deleted(r) => r,
        }
    }
}

/// Applies `ops` in order, inside the caller's write transaction: one result per op, a failed
/// op changes nothing and does not stop the others. All rows are written with multi-row
/// statements and the org's version counter moves once.
pub fn apply(
    conn: &mut DbConn,
    org_id: i64,
    defs: &HashMap<String, EntityDef>,
    ops: &[WriteOp],
    max_bytes: usize,
) -> DbResult<Vec<Outcome>> {
    let org = orgs::lock(conn, org_id)?;
    let current = load_many(
        conn,
        org_id,
        ops.iter().map(|op| (op.entity.as_str(), op.id.as_str())),
    )?;
    apply_locked(conn, &org, defs, ops, current, max_bytes)
}

/// [`apply`] for a caller that took the org's lock ([`orgs::lock`], which gave `org`) and
/// then read the current rows of the records the ops name ([`load_many`]), in the same
/// transaction. A record whose attributes come to more than `max_bytes` of JSON is refused.
pub fn apply_locked(
    conn: &mut DbConn,
    org: &orgs::OrgRow,
    defs: &HashMap<String, EntityDef>,
    ops: &[WriteOp],
    current: HashMap<(String, String), RecordRow>,
    max_bytes: usize,
) -> DbResult<Vec<Outcome>> {
    let org_id = org.id;
    let now = now_micros();
    let mut version = org.last_version;
    let stored: HashMap<(&str, &str), &RecordRow> = current
        .iter()
        .map(|((entity, id), row)| ((entity.as_str(), id.as_str()), row))
        .collect();
    // Each record's latest applied write in this call, by its place in `results`: a later op
    // on the same record starts from it, and only it is written.
    let mut latest: HashMap<(&str, &str), usize> = HashMap::with_capacity(ops.len());
    let mut results: Vec<Outcome> = Vec::with_capacity(ops.len());
    for op in ops {
        let key = (op.entity.as_str(), op.id.as_str());
        let existing = match latest.get(&key) {
            Some(&i) => results[i].as_ref().ok().map(Applied::row),
            None => stored.get(&key).copied(),
        };
        let outcome = plan(op, existing, defs, org_id, version + 1, now)
            .and_then(|applied| within(applied, max_bytes));
        if outcome.is_ok() {
            version += 1;
            latest.insert(key, results.len());
        }
        results.push(outcome);
    }
    if !latest.is_empty() {
        let mut places: Vec<usize> = latest.into_values().collect();
        places.sort_unstable();
        let rows: Vec<&RecordRow> = places
            .into_iter()
            .filter_map(|i| results[i].as_ref().ok().map(Applied::row))
            .collect();
        bulk::upsert_rows(conn, &rows, |entity, id| stored.contains_key(&(entity, id)))?;
        orgs::set_last_version(conn, org_id, version)?;
    }
    Ok(results)
}

fn plan(
    op: &WriteOp,
    existing: Option<&RecordRow>,
    defs: &HashMap<String, EntityDef>,
    org_id: i64,
    version: i64,
    now: i64,
) -> Outcome {
    let live = existing.filter(|r| !r.deleted);
    let actual = existing.map_or(0, |r| r.version);
    let failed = match op.precondition {
        Precondition::None => None,
        Precondition::Exists => live
            .is_none()
            .then(|| format!("record '{}' does not exist", op.id)),
        // A writer that saw no record (0) may write over a tombstone: it saw none either.
        Precondition::Version(0) if live.is_none() => None,
        Precondition::Version(expected) => (expected != actual)
            .then(|| format!("record '{}' is at version {actual}, not {expected}", op.id)),
    };
    if let Some(detail) = failed {
        return Err(Refusal::new(Code::PreconditionFailed, detail)
            .with("entity", op.entity.as_str())
            .with("id", op.id.as_str())
            .with("version", actual));
    }
    let not_found = || error::record_not_found(&op.entity, op.id.as_str());
    let def = defs
        .get(&op.entity)
        .ok_or_else(|| error::entity_not_found(&op.entity))?;
    // An id keeps the version it was first created at across delete and re-create, so the feed
    // can tell that a reader whose token predates it never held the record.
    // The stored text is the one the caller made (`text`), or made here from the given
    // attributes, without their nulls.
    let row_of = |text: String, digest: RecordDigest, live: Option<&RecordRow>| RecordRow {
        org_id,
        entity: op.entity.clone(),
        id: op.id.to_string(),
        version,
        created_version: existing.map_or(version, |r| r.created_version),
        created_on: live.map_or(now, |r| r.created_on),
        modified_on: now,
        deleted: false,
        attributes: text,
        server_version: op
            .server_version
            .or(existing.and_then(|r| r.server_version)),
        digest: Some(digest.to_vec()),
    };
    let new_row =
        |attributes: &Map<String, Value>, live: Option<&RecordRow>| -> Result<RecordRow, Refusal> {
            check_required(def, attributes).map_err(|e| error::invalid_record(&op.entity, e))?;
            let text = serde_json::to_string(&record::WithoutNulls(attributes))
                .map_err(|e| Refusal::new(Code::InternalError, e.to_string()))?;
            let digest = digest::record_digest(op.id.as_str(), attributes);
            Ok(row_of(text, digest, live))
        };
    let given = |live: Option<&RecordRow>| match (&op.text, op.kind) {
        (Some(stored), WriteKind::Replace) => Ok(row_of(stored.text.clone(), stored.digest, live)),
        _ => new_row(&op.attributes, live),
    };
    let merged = |base: &RecordRow| -> Result<Map<String, Value>, Refusal> {
        let mut attrs = stored_attributes(base)
            .map_err(|e| Refusal::new(Code::InternalError, e.to_string()))?;
        for (k, v) in &op.attributes {
            if v.is_null() {
                attrs.remove(k);
            } else {
                attrs.insert(k.clone(), v.clone());
            }
        }
        Ok(attrs)
    };
    match (op.kind, live) {
        (WriteKind::Create, Some(_)) => Err(Refusal::new(
            Code::RecordExists,
            format!(
                "a record '{}' of entity '{}' already exists",
                op.id, op.entity
            ),
        )
        .with("id", op.id.as_str())),
        (WriteKind::Create | WriteKind::Replace | WriteKind::Upsert, None) => {
            given(None).map(Applied::Created)
        }
        (WriteKind::Replace, Some(r)) => given(Some(r)).map(Applied::Updated),
        (WriteKind::Merge | WriteKind::Upsert, Some(r)) => {
            new_row(&merged(r)?, Some(r)).map(Applied::Updated)
        }
        (WriteKind::Merge | WriteKind::Delete, None) => Err(not_found()),
        (WriteKind::Delete, Some(r)) => Ok(Applied::Deleted(RecordRow {
            version,
            modified_on: now,
            deleted: true,
            attributes: "{}".to_owned(),
            server_version: op.server_version.or(r.server_version),
            digest: None,
            ..r.clone()
        })),
    }
}

/// The write, unless it makes a record larger than `max_bytes`.
fn within(applied: Applied, max_bytes: usize) -> Outcome {
    let row = applied.row();
    if row.attributes.len() <= max_bytes {
        return Ok(applied);
    }
    Err(Refusal::new(
        Code::RecordTooLarge,
        format!(
            "record '{}' would hold {} bytes of attributes; at most {max_bytes} are allowed",
            row.id,
            row.attributes.len()
        ),
    )
    .with("entity", row.entity.as_str())
    .with("id", row.id.as_str()))
}

/// The record's attributes as stored (a JSON object).
pub fn stored_attributes(row: &RecordRow) -> DbResult<Map<String, Value>> {
    serde_json::from_str(&row.attributes).map_err(|e| {
        super::DbError::Corrupt(format!(
            "records ({}, {}): attributes are not a JSON object: {e}",
            row.entity, row.id
        ))
    })
}

/// The current rows (tombstones included) of the named records, by (entity, id).
pub fn load_many<'a>(
    conn: &mut DbConn,
    org_id: i64,
    keys: impl Iterator<Item = (&'a str, &'a str)>,
) -> DbResult<HashMap<(String, String), RecordRow>> {
    let mut by_entity: HashMap<&str, Vec<&str>> = HashMap::new();
    for (entity, id) in keys {
        by_entity.entry(entity).or_default().push(id);
    }
    let mut found = HashMap::with_capacity(by_entity.values().map(Vec::len).sum());
    for (entity, ids) in by_entity {
        let rows: Vec<RecordRow> = match conn {
            DbConn::Pg(c) => bulk::load(c, org_id, entity, ids)?,
            DbConn::Sqlite(_) => {
                let mut rows = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(CHUNK) {
                    rows.extend(
                        records::table
                            .filter(records::org_id.eq(org_id))
                            .filter(records::entity.eq(entity))
                            .filter(records::id.eq_any(chunk))
                            .select(RecordRow::as_select())
                            .load(conn)?,
                    );
                }
                rows
            }
        };
        for row in rows {
            found.insert((row.entity.clone(), row.id.clone()), row);
        }
    }
    Ok(found)
}
