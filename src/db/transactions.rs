//! Client writes on their way to the server: captured with the write, claimed in batches
//! (each stored with its key before it is sent), settled by the server's answers.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::connections;
use super::records::{self, Applied, RecordRow};
use super::schema::{conflicts, records as records_t, transaction_batches, transactions};
use super::{now_micros, DbConn};
use crate::domain::wire_names;
use crate::error::ApiError;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum TxStatus {
    /// Waiting to be delivered (or sent, its answer not known yet).
    Pending,
    Processed,
    /// The server refused it (or could not be reached); `Error` says why.
    Error,
    /// Set aside by hand; never delivered.
    Archived,
}
wire_names!(TxStatus {
    Pending,
    Processed,
    Error,
    Archived
});

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum TxOp {
    Create,
    Update,
    Delete,
}
wire_names!(TxOp {
    Create,
    Update,
    Delete
});

/// How a transaction's conflict was settled, or why it needed no delivery.
pub const COLLAPSED: &str = "Collapsed";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = transactions)]
pub struct TxRow {
    pub id: String,
    pub org_id: i64,
    /// The client write's version: the order of delivery.
    pub seq: i64,
    pub entity: String,
    pub record_id: String,
    pub operation: String,
    /// The attributes the write changed (a removed one as null); none for a delete.
    pub attributes: Option<String>,
    /// The server's version of the record the client wrote on (0: it had none).
    pub base_version: i64,
    pub status: String,
    pub tries: i32,
    pub error: Option<String>,
    pub resolution: Option<String>,
    pub batch_key: Option<String>,
    pub created_on: i64,
    pub processed_on: Option<i64>,
}

impl TxRow {
    pub fn status(&self) -> TxStatus {
        TxStatus::parse(&self.status).unwrap_or(TxStatus::Error)
    }
    pub fn op(&self) -> TxOp {
        TxOp::parse(&self.operation).unwrap_or(TxOp::Update)
    }
}

/// What the change of one record was, attribute by attribute.
fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in after {
        if before.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in before.keys() {
        if !after.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    out
}

/// Records the client writes `results` (of ops on the rows `before`) as transactions, for the
/// entities whose link sends outbound. Inside the write transaction of the writes. Records
/// written by a sync never come here: nothing echoes back to the server.
pub fn capture(
    conn: &mut DbConn,
    org_id: i64,
    before: &HashMap<(String, String), RecordRow>,
    results: &[Result<Applied, ApiError>],
) -> Result<Vec<TxRow>, ApiError> {
    if connections::get(conn, org_id)?.is_none() {
        return Ok(Vec::new());
    }
    let outbound: Vec<String> = connections::links(conn, org_id)?
        .into_iter()
        .filter(|l| l.outbound)
        .map(|l| l.entity)
        .collect();
    let mut state: HashMap<(String, String), RecordRow> = before.clone();
    let mut rows = Vec::new();
    let now = now_micros();
    for applied in results.iter().flatten() {
        let row = applied.row();
        let key = (row.entity.clone(), row.id.clone());
        let prior = state.get(&key).filter(|r| !r.deleted).cloned();
        state.insert(key, row.clone());
        if !outbound.contains(&row.entity) {
            continue;
        }
        let base_version = prior.as_ref().and_then(|p| p.server_version).unwrap_or(0);
        let (operation, attributes) = match applied {
            Applied::Created(r) => (TxOp::Create, Some(records::stored_attributes(r)?)),
            Applied::Updated(r) => {
                let old = prior
                    .as_ref()
                    .map(records::stored_attributes)
                    .transpose()?
                    .unwrap_or_default();
                let changed = diff(&old, &records::stored_attributes(r)?);
                if changed.is_empty() {
                    continue;
                }
                (TxOp::Update, Some(changed))
            }
            Applied::Deleted(_) => (TxOp::Delete, None),
        };
        rows.push(TxRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_id,
            seq: row.version,
            entity: row.entity.clone(),
            record_id: row.id.clone(),
            operation: operation.as_str().to_owned(),
            attributes: attributes.map(|a| Value::Object(a).to_string()),
            base_version,
            status: TxStatus::Pending.as_str().to_owned(),
            tries: 0,
            error: None,
            resolution: None,
            batch_key: None,
            created_on: now,
            processed_on: None,
        });
    }
    for row in &rows {
        diesel::insert_into(transactions::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(rows)
}

/// A client write through the shared write path, captured as transactions in the same
/// database transaction. Run it inside a write transaction.
pub fn write_and_capture(
    conn: &mut DbConn,
    org_id: i64,
    defs: &HashMap<String, crate::domain::metadata::EntityDef>,
    ops: &[records::WriteOp],
) -> Result<(Vec<records::Outcome>, Vec<TxRow>), ApiError> {
    let org = super::orgs::lock(conn, org_id)?;
    let before = records::load_many(
        conn,
        org_id,
        ops.iter().map(|op| (op.entity.as_str(), op.id.as_str())),
    )?;
    let results = records::apply_locked(conn, &org, defs, ops, before.clone())?;
    let captured = capture(conn, org_id, &before, &results)?;
    Ok((results, captured))
}

pub fn get(conn: &mut DbConn, org_id: i64, id: &str) -> Result<Option<TxRow>, ApiError> {
    Ok(transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::id.eq(id))
        .select(TxRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn tx_not_found(id: &str) -> ApiError {
    ApiError::not_found(
        "transaction_not_found",
        format!("transaction '{id}' does not exist"),
    )
    .with("id", id)
}

#[derive(Debug, Default)]
pub struct TxFilter {
    pub status: Option<TxStatus>,
    pub entity: Option<String>,
    pub after: Option<String>,
}

/// Transactions in creation order.
pub fn list(
    conn: &mut DbConn,
    org_id: i64,
    filter: &TxFilter,
    limit: i64,
) -> Result<Vec<TxRow>, ApiError> {
    let mut q = transactions::table
        .filter(transactions::org_id.eq(org_id))
        .order(transactions::id.asc())
        .limit(limit)
        .select(TxRow::as_select())
        .into_boxed();
    if let Some(s) = filter.status {
        q = q.filter(transactions::status.eq(s.as_str()));
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
pub fn set_pending(conn: &mut DbConn, org_id: i64, ids: &[String]) -> Result<Vec<TxRow>, ApiError> {
    change_status(
        conn,
        org_id,
        ids,
        TxStatus::Pending,
        &[TxStatus::Error, TxStatus::Archived, TxStatus::Pending],
    )
}

/// `SetToArchived`: a pending or errored transaction is set aside and never delivered.
pub fn set_archived(
    conn: &mut DbConn,
    org_id: i64,
    ids: &[String],
) -> Result<Vec<TxRow>, ApiError> {
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
) -> Result<Vec<TxRow>, ApiError> {
    super::write_tx(conn, |conn| {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = get(conn, org_id, id)?.ok_or_else(|| tx_not_found(id))?;
            if !from.contains(&row.status()) {
                return Err(ApiError::conflict(
                    "transaction_settled",
                    format!(
                        "transaction '{id}' is {}; it cannot become {to}",
                        row.status
                    ),
                )
                .with("id", id.as_str()));
            }
            if to == TxStatus::Archived && row.batch_key.is_some() {
                return Err(ApiError::conflict(
                    "transaction_in_flight",
                    format!("transaction '{id}' was sent and its answer is not known yet; it cannot be archived"),
                )
                .with("id", id.as_str()));
            }
            diesel::update(transactions::table.find(id))
                .set((
                    transactions::status.eq(to.as_str()),
                    transactions::error.eq(None::<String>),
                ))
                .execute(conn)?;
            out.push(get(conn, org_id, id)?.ok_or_else(|| tx_not_found(id))?);
        }
        Ok(out)
    })
}

/// `SetAllToPending`: every errored transaction goes back in the queue.
pub fn set_all_pending(conn: &mut DbConn, org_id: i64) -> Result<usize, ApiError> {
    Ok(diesel::update(
        transactions::table
            .filter(transactions::org_id.eq(org_id))
            .filter(transactions::status.eq(TxStatus::Error.as_str())),
    )
    .set((
        transactions::status.eq(TxStatus::Pending.as_str()),
        transactions::error.eq(None::<String>),
    ))
    .execute(conn)?)
}

/// A batch ready to send: its key, its stored body, and for each operation the transactions
/// it carries.
#[derive(Debug, Clone)]
pub struct Batch {
    pub key: String,
    pub body: Value,
    pub members: Vec<Vec<String>>,
}

/// A batch sent before whose answer is not known (a lost response, a crash): sent again as it was.
pub fn unsettled(
    conn: &mut DbConn,
    org_id: i64,
    only: Option<&[String]>,
) -> Result<Option<Batch>, ApiError> {
    let mut q = transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::batch_key.is_not_null())
        .filter(transactions::status.eq_any([TxStatus::Pending.as_str(), TxStatus::Error.as_str()]))
        .select(transactions::batch_key.assume_not_null())
        .order(transactions::seq.asc())
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(transactions::id.eq_any(ids.to_vec()));
    }
    let Some(key) = q.first::<String>(conn).optional()? else {
        return Ok(None);
    };
    let (body, members): (String, String) = transaction_batches::table
        .find(&key)
        .select((transaction_batches::body, transaction_batches::members))
        .first(conn)?;
    Ok(Some(Batch {
        key,
        body: serde_json::from_str(&body).map_err(ApiError::internal)?,
        members: serde_json::from_str(&members).map_err(ApiError::internal)?,
    }))
}

/// Claims the next pending transactions (whole chains of a record, in creation order, skipping
/// records held up behind an error) and stores the batch they make before it is sent. A chain
/// created and deleted before delivery needs no operation: it is settled as collapsed.
/// Inside a write transaction.
pub fn claim(
    conn: &mut DbConn,
    org_id: i64,
    max_ops: usize,
    only: Option<&[String]>,
) -> Result<Option<Batch>, ApiError> {
    // Chains that collapsed leave room: look again until a batch or nothing is left.
    loop {
        match claim_once(conn, org_id, max_ops, only)? {
            Claimed::Batch(b) => return Ok(Some(b)),
            Claimed::Collapsed => continue,
            Claimed::Nothing => return Ok(None),
        }
    }
}

enum Claimed {
    Batch(Batch),
    /// Every chain read was created and deleted before delivery: settled, nothing to send.
    Collapsed,
    /// Nothing pending, or all of it waits behind an error.
    Nothing,
}

fn claim_once(
    conn: &mut DbConn,
    org_id: i64,
    max_ops: usize,
    only: Option<&[String]>,
) -> Result<Claimed, ApiError> {
    let mut q = transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::status.eq(TxStatus::Pending.as_str()))
        .filter(transactions::batch_key.is_null())
        .order(transactions::seq.asc())
        .select(TxRow::as_select())
        .limit(i64::try_from(max_ops * 4).unwrap_or(i64::MAX))
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(transactions::id.eq_any(ids.to_vec()));
    }
    let pending: Vec<TxRow> = q.load(conn)?;
    if pending.is_empty() {
        return Ok(Claimed::Nothing);
    }
    // Records with an earlier transaction in error wait behind it.
    let blocked: Vec<(String, String, i64)> = transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::status.eq(TxStatus::Error.as_str()))
        .select((
            transactions::entity,
            transactions::record_id,
            transactions::seq,
        ))
        .load(conn)?;
    let mut chains: BTreeMap<(String, String), Vec<TxRow>> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for tx in pending {
        let key = (tx.entity.clone(), tx.record_id.clone());
        if blocked
            .iter()
            .any(|(e, r, s)| *e == key.0 && *r == key.1 && *s < tx.seq)
        {
            continue;
        }
        if !chains.contains_key(&key) {
            if order.len() == max_ops {
                continue;
            }
            order.push(key.clone());
        }
        chains.entry(key).or_default().push(tx);
    }
    let batch_key = uuid::Uuid::now_v7().to_string();
    let mut operations = Vec::new();
    let mut members = Vec::new();
    for key in &order {
        let chain = &chains[key];
        let ids: Vec<String> = chain.iter().map(|t| t.id.clone()).collect();
        match combine(conn, org_id, chain)? {
            Some(op) => {
                operations.push(op);
                members.push(ids);
            }
            None => settle_collapsed(conn, &ids)?,
        }
    }
    if operations.is_empty() {
        return Ok(if order.is_empty() {
            Claimed::Nothing
        } else {
            Claimed::Collapsed
        });
    }
    let body = serde_json::json!({ "Operations": operations });
    diesel::insert_into(transaction_batches::table)
        .values((
            transaction_batches::key.eq(&batch_key),
            transaction_batches::org_id.eq(org_id),
            transaction_batches::body.eq(body.to_string()),
            transaction_batches::members
                .eq(serde_json::to_string(&members).map_err(ApiError::internal)?),
            transaction_batches::created_on.eq(now_micros()),
        ))
        .execute(conn)?;
    let all: Vec<&String> = members.iter().flatten().collect();
    diesel::update(transactions::table.filter(transactions::id.eq_any(all)))
        .set((
            transactions::batch_key.eq(&batch_key),
            transactions::tries.eq(transactions::tries + 1),
        ))
        .execute(conn)?;
    Ok(Claimed::Batch(Batch {
        key: batch_key,
        body,
        members,
    }))
}

/// One batch operation for a record's chain of transactions, or `None` when the chain
/// created and deleted the record before delivery (the server never needs to hear of it).
fn combine(conn: &mut DbConn, org_id: i64, chain: &[TxRow]) -> Result<Option<Value>, ApiError> {
    let first = &chain[0];
    let starts_new = first.op() == TxOp::Create;
    let mut attributes = Map::new();
    let mut delete = false;
    for tx in chain {
        match tx.op() {
            TxOp::Delete => {
                delete = true;
                attributes.clear();
            }
            TxOp::Create | TxOp::Update => {
                delete = false;
                let changed: Map<String, Value> = tx
                    .attributes
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .map_err(ApiError::internal)?
                    .unwrap_or_default();
                attributes.extend(changed);
            }
        }
    }
    if delete && starts_new {
        return Ok(None);
    }
    let force = matches!(
        first.resolution.as_deref(),
        Some("ClientWins" | "ClientWinsFull")
    );
    if first.resolution.as_deref() == Some("ClientWinsFull") && !delete {
        attributes = full_record(conn, org_id, first)?;
    }
    let mut op = serde_json::json!({"Op": if delete { "Delete" } else { "Upsert" }, "Entity": first.entity, "Id": first.record_id});
    if !delete {
        op["Attributes"] = Value::Object(attributes);
    }
    if !force {
        let base = if starts_new || first.base_version > 0 {
            first.base_version
        } else {
            // An update of a record created here and delivered since: its base is what the
            // server answered then.
            current_server_version(conn, org_id, first)?.unwrap_or(0)
        };
        op["IfVersion"] = Value::from(base);
    }
    Ok(Some(op))
}

/// The client's whole record, with every other attribute of its entity cleared (null), so a
/// merge on the server comes to a replace.
fn full_record(conn: &mut DbConn, org_id: i64, tx: &TxRow) -> Result<Map<String, Value>, ApiError> {
    let mut attrs =
        match records::get(conn, org_id, &tx.entity, &tx.record_id)?.filter(|r| !r.deleted) {
            Some(row) => records::stored_attributes(&row)?,
            None => Map::new(),
        };
    if let Some(def) = super::metadata::entity(conn, org_id, &tx.entity)? {
        for a in &def.attributes {
            attrs.entry(a.name.to_string()).or_insert(Value::Null);
        }
    }
    Ok(attrs)
}

fn current_server_version(
    conn: &mut DbConn,
    org_id: i64,
    tx: &TxRow,
) -> Result<Option<i64>, ApiError> {
    Ok(records::get(conn, org_id, &tx.entity, &tx.record_id)?.and_then(|r| r.server_version))
}

fn settle_collapsed(conn: &mut DbConn, ids: &[String]) -> Result<(), ApiError> {
    diesel::update(transactions::table.filter(transactions::id.eq_any(ids)))
        .set((
            transactions::status.eq(TxStatus::Processed.as_str()),
            transactions::resolution.eq(COLLAPSED),
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
pub fn settle_delivered(
    conn: &mut DbConn,
    org_id: i64,
    delivered: &[Delivered],
) -> Result<(), ApiError> {
    let now = now_micros();
    let ids: Vec<&String> = delivered.iter().flat_map(|d| &d.ids).collect();
    for chunk in ids.chunks(500) {
        diesel::update(
            transactions::table
                .filter(transactions::id.eq_any(chunk))
                .filter(transactions::status.ne(TxStatus::Processed.as_str())),
        )
        .set((
            transactions::status.eq(TxStatus::Processed.as_str()),
            transactions::batch_key.eq(None::<String>),
            transactions::error.eq(None::<String>),
            transactions::processed_on.eq(now),
        ))
        .execute(conn)?;
    }
    for d in delivered {
        if let Some(v) = d.server_version {
            diesel::update(
                records_t::table
                    .filter(records_t::org_id.eq(org_id))
                    .filter(records_t::entity.eq(&d.entity))
                    .filter(records_t::id.eq(&d.record_id)),
            )
            .set(records_t::server_version.eq(v))
            .execute(conn)?;
        }
    }
    Ok(())
}

/// Marks the transactions of one operation failed with a reason. With `keep_batch`, the
/// answer is unknown: they stay bound to their batch, to be sent again as it was.
pub fn settle_error(
    conn: &mut DbConn,
    ids: &[String],
    code: &str,
    message: &str,
    keep_batch: bool,
) -> Result<(), ApiError> {
    let error = serde_json::json!({"Code": code, "Message": message}).to_string();
    let target = transactions::table
        .filter(transactions::id.eq_any(ids))
        .filter(transactions::status.ne(TxStatus::Processed.as_str()));
    if keep_batch {
        diesel::update(target)
            .set((
                transactions::status.eq(TxStatus::Error.as_str()),
                transactions::error.eq(error),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set((
                transactions::status.eq(TxStatus::Error.as_str()),
                transactions::error.eq(error),
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
    resolution: &str,
    again: bool,
) -> Result<(), ApiError> {
    let (status, processed) = if again {
        (TxStatus::Pending, None)
    } else {
        (TxStatus::Processed, Some(now_micros()))
    };
    diesel::update(transactions::table.filter(transactions::id.eq_any(ids)))
        .set((
            transactions::status.eq(status.as_str()),
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
    resolution: &str,
) -> Result<(), ApiError> {
    diesel::update(transactions::table.filter(transactions::id.eq_any(ids)))
        .set((
            transactions::status.eq(TxStatus::Archived.as_str()),
            transactions::error.eq(None::<String>),
            transactions::batch_key.eq(None::<String>),
            transactions::resolution.eq(resolution),
        ))
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
) -> Result<std::collections::HashSet<String>, ApiError> {
    let mut out = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        let found: Vec<String> = transactions::table
            .filter(transactions::org_id.eq(org_id))
            .filter(transactions::entity.eq(entity))
            .filter(transactions::record_id.eq_any(chunk))
            .filter(
                transactions::status.eq_any([TxStatus::Pending.as_str(), TxStatus::Error.as_str()]),
            )
            .select(transactions::record_id)
            .distinct()
            .load(conn)?;
        out.extend(found);
    }
    Ok(out)
}

/// Deletes delivered and archived transactions settled before `cutoff_micros`, and the stored
/// batches no unsettled transaction still needs.
pub fn purge(conn: &mut DbConn, cutoff_micros: i64) -> Result<usize, ApiError> {
    super::write_tx(conn, |conn| {
        let gone = diesel::delete(
            transactions::table
                .filter(
                    transactions::status
                        .eq_any([TxStatus::Processed.as_str(), TxStatus::Archived.as_str()]),
                )
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
pub fn counts(conn: &mut DbConn) -> Result<Vec<(String, i64)>, ApiError> {
    Ok(transactions::table
        .group_by(transactions::status)
        .select((transactions::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// How many transactions wait to be delivered (queue depth).
pub fn pending_count(conn: &mut DbConn, org_id: i64) -> Result<i64, ApiError> {
    Ok(transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::status.eq(TxStatus::Pending.as_str()))
        .count()
        .get_result(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = conflicts)]
pub struct ConflictRow {
    pub id: String,
    pub org_id: i64,
    pub transaction_id: String,
    pub entity: String,
    pub record_id: String,
    pub client_attributes: Option<String>,
    pub server_record: Option<String>,
    pub status: String,
    pub created_on: i64,
    pub resolved_on: Option<i64>,
    pub resolution: Option<String>,
}

pub fn open_conflict(conn: &mut DbConn, row: &ConflictRow) -> Result<(), ApiError> {
    diesel::insert_into(conflicts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn conflicts(
    conn: &mut DbConn,
    org_id: i64,
    open_only: bool,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ConflictRow>, ApiError> {
    let mut q = conflicts::table
        .filter(conflicts::org_id.eq(org_id))
        .order(conflicts::id.asc())
        .limit(limit)
        .select(ConflictRow::as_select())
        .into_boxed();
    if open_only {
        q = q.filter(conflicts::status.eq("Open"));
    }
    if let Some(a) = after {
        q = q.filter(conflicts::id.gt(a.to_owned()));
    }
    Ok(q.load(conn)?)
}

pub fn conflict(conn: &mut DbConn, org_id: i64, id: &str) -> Result<ConflictRow, ApiError> {
    conflicts::table
        .filter(conflicts::org_id.eq(org_id))
        .filter(conflicts::id.eq(id))
        .select(ConflictRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| {
            ApiError::not_found(
                "conflict_not_found",
                format!("conflict '{id}' does not exist"),
            )
            .with("id", id)
        })
}

pub fn close_conflict(conn: &mut DbConn, id: &str, resolution: &str) -> Result<(), ApiError> {
    diesel::update(conflicts::table.find(id))
        .set((
            conflicts::status.eq("Resolved"),
            conflicts::resolution.eq(resolution),
            conflicts::resolved_on.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The transactions of a record from `seq` on that are not settled, in order (a chain).
pub fn open_chain(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    record_id: &str,
) -> Result<Vec<TxRow>, ApiError> {
    Ok(transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::entity.eq(entity))
        .filter(transactions::record_id.eq(record_id))
        .filter(transactions::status.eq_any([TxStatus::Pending.as_str(), TxStatus::Error.as_str()]))
        .order(transactions::seq.asc())
        .select(TxRow::as_select())
        .load(conn)?)
}
