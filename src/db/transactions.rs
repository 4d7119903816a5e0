//! Client writes on their way to the server: stored with the write, claimed in batches (each
//! stored with its key before it is sent), settled by the server's answers; and the conflicts
//! they meet. What to send and how to settle is the engine's (`crate::sync::upload`); these are
//! the statements.

use std::collections::HashSet;

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::records::RecordRow;
use super::schema::{transaction_batches, transactions};
use super::{now_micros, DbConn, DbResult, Json};
use crate::domain::error::{transaction_not_found, Code, Refusal};
use crate::domain::transaction::{Resolution, TxError, TxOp, TxStatus};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = transactions)]
pub struct TxRow {
    pub id: String,
    pub org_id: i64,
    /// The client write's version: the order of delivery.
    pub seq: i64,
    pub entity: String,
    pub record_id: String,
    pub operation: TxOp,
    /// The attributes the write changed (a removed one as null); none for a delete.
    pub attributes: Option<Json<Map<String, Value>>>,
    /// The server's version of the record the client wrote on (0: it had none).
    pub base_version: i64,
    pub status: TxStatus,
    pub tries: i32,
    pub error: Option<Json<TxError>>,
    pub resolution: Option<Resolution>,
    pub batch_key: Option<String>,
    pub created_on: i64,
    pub processed_on: Option<i64>,
}

impl TxRow {
    /// A new pending transaction of a client write.
    pub fn pending(
        org_id: i64,
        row: &RecordRow,
        operation: TxOp,
        attributes: Option<Map<String, Value>>,
        base_version: i64,
        now: i64,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            org_id,
            seq: row.version,
            entity: row.entity.clone(),
            record_id: row.id.clone(),
            operation,
            attributes: attributes.map(Json::new),
            base_version,
            status: TxStatus::Pending,
            tries: 0,
            error: None,
            resolution: None,
            batch_key: None,
            created_on: now,
            processed_on: None,
        }
    }
}

pub fn insert(conn: &mut DbConn, rows: &[TxRow]) -> DbResult<()> {
    for row in rows {
        diesel::insert_into(transactions::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn get(conn: &mut DbConn, org_id: i64, id: &str) -> DbResult<Option<TxRow>> {
    Ok(transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::id.eq(id))
        .select(TxRow::as_select())
        .first(conn)
        .optional()?)
}

/// The transactions named by `ids` (those of the org), in the order of `ids`.
pub fn get_many(conn: &mut DbConn, org_id: i64, ids: &[String]) -> DbResult<Vec<Option<TxRow>>> {
    ids.iter().map(|id| get(conn, org_id, id)).collect()
}

#[derive(Debug, Default)]
pub struct TxFilter {
    pub status: Option<TxStatus>,
    pub entity: Option<String>,
    pub after: Option<String>,
}

/// Transactions in creation order.
pub fn list(conn: &mut DbConn, org_id: i64, filter: &TxFilter, limit: i64) -> DbResult<Vec<TxRow>> {
    let mut q = transactions::table
        .filter(transactions::org_id.eq(org_id))
        .order(transactions::id.asc())
        .limit(limit)
        .select(TxRow::as_select())
        .into_boxed();
    if let Some(s) = filter.status {
        q = q.filter(transactions::status.eq(s));
    }
    if let Some(e) = &filter.entity {
        q = q.filter(transactions::entity.eq(e.clone()));
    }
    if let Some(a) = &filter.after {
        q = q.filter(transactions::id.gt(a.clone()));
    }
    Ok(q.load(conn)?)
}

/// `SetToPending`: an errored or archived transaction goes back in the queue. One sent in a
/// batch whose answer is unknown keeps that batch, to be sent again as it was.
pub fn set_pending(conn: &mut DbConn, org_id: i64, ids: &[String]) -> DbResult<Vec<TxRow>> {
    change_status(
        conn,
        org_id,
        ids,
        TxStatus::Pending,
        &[TxStatus::Error, TxStatus::Archived, TxStatus::Pending],
    )
}

/// `SetToArchived`: a pending or errored transaction is set aside and never delivered.
pub fn set_archived(conn: &mut DbConn, org_id: i64, ids: &[String]) -> DbResult<Vec<TxRow>> {
    change_status(
        conn,
        org_id,
        ids,
        TxStatus::Archived,
        &[TxStatus::Pending, TxStatus::Error, TxStatus::Archived],
    )
}

fn change_status(
    conn: &mut DbConn,
    org_id: i64,
    ids: &[String],
    to: TxStatus,
    from: &[TxStatus],
) -> DbResult<Vec<TxRow>> {
    super::write_tx(conn, |conn| {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = get(conn, org_id, id)?.ok_or_else(|| transaction_not_found(id))?;
            if !from.contains(&row.status) {
                return Err(Refusal::new(
                    Code::TransactionSettled,
                    format!(
                        "transaction '{id}' is {}; it cannot become {to}",
                        row.status
                    ),
                )
                .with("id", id.as_str())
                .into());
            }
            if to == TxStatus::Archived && row.batch_key.is_some() {
                return Err(Refusal::new(
                    Code::TransactionInFlight,
                    format!("transaction '{id}' was sent and its answer is not known yet; it cannot be archived"),
                )
                .with("id", id.as_str())
                .into());
            }
            diesel::update(transactions::table.find(id))
                .set((
                    transactions::status.eq(to),
                    transactions::error.eq(None::<Json<TxError>>),
                ))
                .execute(conn)?;
            out.push(get(conn, org_id, id)?.ok_or_else(|| transaction_not_found(id))?);
        }
        Ok(out)
    })
}

/// `SetAllToPending`: every errored transaction goes back in the queue.
pub fn set_all_pending(conn: &mut DbConn, org_id: i64) -> DbResult<usize> {
    Ok(diesel::update(
        transactions::table
            .filter(transactions::org_id.eq(org_id))
            .filter(transactions::status.eq(TxStatus::Error)),
    )
    .set((
        transactions::status.eq(TxStatus::Pending),
        transactions::error.eq(None::<Json<TxError>>),
    ))
    .execute(conn)?)
}

/// A chain created and deleted before delivery: processed, with nothing sent.
pub fn settle_collapsed(conn: &mut DbConn, ids: &[String]) -> DbResult<()> {
    diesel::update(transactions::table.filter(transactions::id.eq_any(ids)))
        .set((
            transactions::status.eq(TxStatus::Processed),
            transactions::resolution.eq(Resolution::Collapsed),
            transactions::processed_on.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// One delivered operation: its transactions, its record and the server's new version of it.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub ids: Vec<String>,
    pub entity: String,
    pub record_id: String,
    pub server_version: Option<i64>,
}

/// Marks the transactions of every delivered operation processed and keeps each record's new
/// server version, in the caller's write transaction.
pub fn settle_delivered(conn: &mut DbConn, org_id: i64, delivered: &[Delivered]) -> DbResult<()> {
    let now = now_micros();
    let ids: Vec<&String> = delivered.iter().flat_map(|d| &d.ids).collect();
    for chunk in ids.chunks(500) {
        diesel::update(
            transactions::table
                .filter(transactions::id.eq_any(chunk))
                .filter(transactions::status.ne(TxStatus::Processed)),
        )
        .set((
            transactions::status.eq(TxStatus::Processed),
            transactions::batch_key.eq(None::<String>),
            transactions::error.eq(None::<Json<TxError>>),
            transactions::processed_on.eq(now),
        ))
        .execute(conn)?;
    }
    let versions: Vec<(&str, &str, i64)> = delivered
        .iter()
        .filter_map(|d| Some((d.entity.as_str(), d.record_id.as_str(), d.server_version?)))
        .collect();
    super::bulk::set_server_versions(conn, org_id, &versions)
}

/// Marks the transactions of one operation failed with a reason. With `keep_batch`, the
/// answer is unknown: they stay bound to their batch, to be sent again as it was.
pub fn settle_error(
    conn: &mut DbConn,
    ids: &[String],
    error: &TxError,
    keep_batch: bool,
) -> DbResult<()> {
    let error = Json::new(error.clone());
    let target = transactions::table
        .filter(transactions::id.eq_any(ids))
        .filter(transactions::status.ne(TxStatus::Processed));
    if keep_batch {
        diesel::update(target)
            .set((
                transactions::status.eq(TxStatus::Error),
                transactions::error.eq(&error),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set((
                transactions::status.eq(TxStatus::Error),
                transactions::error.eq(&error),
                transactions::batch_key.eq(None::<String>),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A conflict settled by policy: `resolution` recorded; with `again`, the transactions go
/// back in the queue to be sent without the version check (the client's side wins).
pub fn settle_conflict(
    conn: &mut DbConn,
    ids: &[String],
    resolution: Resolution,
    again: bool,
) -> DbResult<()> {
    let (status, processed) = if again {
        (TxStatus::Pending, None)
    } else {
        (TxStatus::Processed, Some(now_micros()))
    };
    diesel::update(transactions::table.filter(transactions::id.eq_any(ids)))
        .set((
            transactions::status.eq(status),
            transactions::resolution.eq(resolution),
            transactions::batch_key.eq(None::<String>),
            transactions::processed_on.eq(processed),
        ))
        .execute(conn)?;
    Ok(())
}

/// Transactions settled by taking the server's side of a conflict: archived, never delivered.
pub fn set_archived_resolved(
    conn: &mut DbConn,
    ids: &[String],
    resolution: Resolution,
) -> DbResult<()> {
    diesel::update(transactions::table.filter(transactions::id.eq_any(ids)))
        .set((
            transactions::status.eq(TxStatus::Archived),
            transactions::error.eq(None::<Json<TxError>>),
            transactions::batch_key.eq(None::<String>),
            transactions::resolution.eq(resolution),
        ))
        .execute(conn)?;
    Ok(())
}

/// Archives the undelivered transactions of the records `ids` of `entity`, settled by
/// `resolution` (a Get snapshot overrode them): they are never delivered.
pub fn archive_open(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    ids: &[String],
    resolution: Resolution,
) -> DbResult<usize> {
    let mut n = 0;
    for chunk in ids.chunks(500) {
        n += diesel::update(
            transactions::table
                .filter(transactions::org_id.eq(org_id))
                .filter(transactions::entity.eq(entity))
                .filter(transactions::record_id.eq_any(chunk))
                .filter(transactions::status.eq_any(TxStatus::OPEN)),
        )
        .set((
            transactions::status.eq(TxStatus::Archived),
            transactions::error.eq(None::<Json<TxError>>),
            transactions::batch_key.eq(None::<String>),
            transactions::resolution.eq(resolution),
        ))
        .execute(conn)?;
    }
    Ok(n)
}

/// The highest transaction sequence of the org so far (0 when none).
pub fn last_seq(conn: &mut DbConn, org_id: i64) -> DbResult<i64> {
    let seq: Option<i64> = transactions::table
        .filter(transactions::org_id.eq(org_id))
        .select(diesel::dsl::max(transactions::seq))
        .first(conn)?;
    Ok(seq.unwrap_or(0))
}

/// A Send snapshot carried a record to the server at `server_version`: its undelivered
/// transactions made before the snapshot read it (up to `up_to_seq`) are processed
/// (`SentBySnapshot`), and the later ones now build on the version the snapshot made.
pub fn settle_sent(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    record_id: &str,
    up_to_seq: i64,
    server_version: i64,
) -> DbResult<()> {
    let of_record = || {
        transactions::table
            .filter(transactions::org_id.eq(org_id))
            .filter(transactions::entity.eq(entity))
            .filter(transactions::record_id.eq(record_id))
            .filter(transactions::status.eq_any(TxStatus::OPEN))
    };
    diesel::update(of_record().filter(transactions::seq.le(up_to_seq)))
        .set((
            transactions::status.eq(TxStatus::Processed),
            transactions::error.eq(None::<Json<TxError>>),
            transactions::batch_key.eq(None::<String>),
            transactions::resolution.eq(Resolution::SentBySnapshot),
            transactions::processed_on.eq(now_micros()),
        ))
        .execute(conn)?;
    diesel::update(of_record().filter(transactions::seq.gt(up_to_seq)))
        .set(transactions::base_version.eq(server_version))
        .execute(conn)?;
    Ok(())
}

/// Of `ids`, the records of `entity` with client changes not delivered yet (pending or in
/// error): a download leaves those alone until the upload has settled them.
pub fn with_open_changes(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    ids: &[&str],
) -> DbResult<HashSet<String>> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(500) {
        let found: Vec<String> = transactions::table
            .filter(transactions::org_id.eq(org_id))
            .filter(transactions::entity.eq(entity))
            .filter(transactions::record_id.eq_any(chunk))
            .filter(transactions::status.eq_any(TxStatus::OPEN))
            .select(transactions::record_id)
            .distinct()
            .load(conn)?;
        out.extend(found);
    }
    Ok(out)
}

/// Deletes delivered and archived transactions settled before `cutoff_micros`, and the stored
/// batches no unsettled transaction still needs.
pub fn purge(conn: &mut DbConn, cutoff_micros: i64) -> DbResult<usize> {
    super::write_tx(conn, |conn| {
        let gone = diesel::delete(
            transactions::table
                .filter(transactions::status.eq_any([TxStatus::Processed, TxStatus::Archived]))
                .filter(transactions::created_on.lt(cutoff_micros))
                .filter(transactions::batch_key.is_null()),
        )
        .execute(conn)?;
        let needed = transactions::table
            .filter(transactions::batch_key.is_not_null())
            .select(transactions::batch_key.assume_not_null());
        diesel::delete(
            transaction_batches::table
                .filter(transaction_batches::created_on.lt(cutoff_micros))
                .filter(transaction_batches::key.ne_all(needed)),
        )
        .execute(conn)?;
        Ok(gone)
    })
}

/// Transactions of every org by status, for the metrics.
pub fn counts(conn: &mut DbConn) -> DbResult<Vec<(TxStatus, i64)>> {
    Ok(transactions::table
        .group_by(transactions::status)
        .select((transactions::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Pending transactions per org name, for the metrics (orgs with none are left out).
pub fn pending_by_org(conn: &mut DbConn) -> DbResult<Vec<(String, i64)>> {
    use super::schema::orgs;
    Ok(transactions::table
        .inner_join(orgs::table.on(orgs::id.eq(transactions::org_id)))
        .filter(transactions::status.eq(TxStatus::Pending))
        .group_by(orgs::name)
        .select((orgs::name, diesel::dsl::count_star()))
        .load(conn)?)
}

/// How many transactions wait to be delivered (queue depth).
pub fn pending_count(conn: &mut DbConn, org_id: i64) -> DbResult<i64> {
    Ok(transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::status.eq(TxStatus::Pending))
        .count()
        .get_result(conn)?)
}

/// How many transactions of each entity of the org are in `Error` and not in flight (the
/// server refused them): no sync sends them again until `SetToPending` (or `SetToArchived`
/// sets them aside). Those in flight are sent again with their stored batch by the next sync.
pub fn stuck_by_entity(conn: &mut DbConn, org_id: i64) -> DbResult<Vec<(String, i64)>> {
    Ok(transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::status.eq(TxStatus::Error))
        .filter(transactions::batch_key.is_null())
        .group_by(transactions::entity)
        .select((transactions::entity, diesel::dsl::count_star()))
        .order_by(transactions::entity)
        .load(conn)?)
}

/// The transactions of a record that are not settled, in order (a chain).
pub fn open_chain(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    record_id: &str,
) -> DbResult<Vec<TxRow>> {
    Ok(transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::entity.eq(entity))
        .filter(transactions::record_id.eq(record_id))
        .filter(transactions::status.eq_any(TxStatus::OPEN))
        .order(transactions::seq.asc())
        .select(TxRow::as_select())
        .load(conn)?)
}
