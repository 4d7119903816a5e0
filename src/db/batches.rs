//! The batches of client transactions sent to the server: claimed, stored with their key
//! before they are sent, and found again when their answer was lost.

use diesel::prelude::*;

use super::schema::{transaction_batches, transactions};
use super::transactions::TxRow;
use super::{now_micros, DbConn, DbResult, Json};
use crate::domain::transaction::{TxOp, TxStatus};
use crate::wire::batch::{BatchOperation, BatchRequest};

/// A batch ready to send: its key, its operations, and for each operation the transactions
/// it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub key: String,
    pub operations: Vec<BatchOperation>,
    pub members: Vec<Vec<String>>,
}

/// A batch sent before whose answer is not known (a lost response, a crash): sent again as it was.
pub fn unsettled(
    conn: &mut DbConn,
    org_id: i64,
    only: Option<&[String]>,
) -> DbResult<Option<Batch>> {
    let mut q = transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::batch_key.is_not_null())
        .filter(transactions::status.eq_any(TxStatus::OPEN))
        .select(transactions::batch_key.assume_not_null())
        .order(transactions::seq.asc())
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(transactions::id.eq_any(ids.to_vec()));
    }
    let Some(key) = q.first::<String>(conn).optional()? else {
        return Ok(None);
    };
    let (body, members): (Json<BatchRequest>, Json<Vec<Vec<String>>>) = transaction_batches::table
        .find(&key)
        .select((transaction_batches::body, transaction_batches::members))
        .first(conn)?;
    Ok(Some(Batch {
        key,
        operations: body.into_inner().operations,
        members: members.into_inner(),
    }))
}

/// Pending transactions not sent yet, in creation order, of other entities than `skip`: the
/// next ones to claim.
pub fn next_pending(
    conn: &mut DbConn,
    org_id: i64,
    only: Option<&[String]>,
    skip: &[String],
    after_seq: i64,
    limit: i64,
) -> DbResult<Vec<TxRow>> {
    let mut q = transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::status.eq(TxStatus::Pending))
        .filter(transactions::batch_key.is_null())
        .filter(transactions::seq.gt(after_seq))
        .order(transactions::seq.asc())
        .select(TxRow::as_select())
        .limit(limit)
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(transactions::id.eq_any(ids.to_vec()));
    }
    if !skip.is_empty() {
        q = q.filter(transactions::entity.ne_all(skip.to_vec()));
    }
    Ok(q.load(conn)?)
}

/// The records (entity, id) with a pending delete of a record the server has: what the
/// delete guard counts on the server's side.
pub fn pending_deletes(
    conn: &mut DbConn,
    org_id: i64,
    only: Option<&[String]>,
) -> DbResult<Vec<(String, String)>> {
    let mut q = transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::status.eq(TxStatus::Pending))
        .filter(transactions::operation.eq(TxOp::Delete))
        .filter(transactions::base_version.gt(0))
        .select((transactions::entity, transactions::record_id))
        .distinct()
        .into_boxed();
    if let Some(ids) = only {
        q = q.filter(transactions::id.eq_any(ids.to_vec()));
    }
    Ok(q.load(conn)?)
}

/// The records held up by a transaction in error: (entity, record id, its sequence).
pub fn errored(conn: &mut DbConn, org_id: i64) -> DbResult<Vec<(String, String, i64)>> {
    Ok(transactions::table
        .filter(transactions::org_id.eq(org_id))
        .filter(transactions::status.eq(TxStatus::Error))
        .select((
            transactions::entity,
            transactions::record_id,
            transactions::seq,
        ))
        .load(conn)?)
}

/// Stores a batch before it is sent and binds its transactions to it (one more try each).
pub fn store_batch(conn: &mut DbConn, org_id: i64, batch: &Batch) -> DbResult<()> {
    let body = Json::new(BatchRequest {
        operations: batch.operations.clone(),
    });
    diesel::insert_into(transaction_batches::table)
        .values((
            transaction_batches::key.eq(&batch.key),
            transaction_batches::org_id.eq(org_id),
            transaction_batches::body.eq(&body),
            transaction_batches::members.eq(Json::new(batch.members.clone())),
            transaction_batches::created_on.eq(now_micros()),
        ))
        .execute(conn)?;
    let all: Vec<&String> = batch.members.iter().flatten().collect();
    diesel::update(transactions::table.filter(transactions::id.eq_any(all)))
        .set((
            transactions::batch_key.eq(&batch.key),
            transactions::tries.eq(transactions::tries + 1),
        ))
        .execute(conn)?;
    Ok(())
}

/// Undoes [`store_batch`] for a batch that was never sent: its transactions are pending and
/// unclaimed again, without the try it would have been.
pub fn release(conn: &mut DbConn, org_id: i64, batch: &Batch) -> DbResult<()> {
    let all: Vec<&String> = batch.members.iter().flatten().collect();
    diesel::update(
        transactions::table
            .filter(transactions::org_id.eq(org_id))
            .filter(transactions::batch_key.eq(&batch.key))
            .filter(transactions::id.eq_any(all)),
    )
    .set((
        transactions::batch_key.eq(None::<String>),
        transactions::tries.eq(transactions::tries - 1),
    ))
    .execute(conn)?;
    diesel::delete(
        transaction_batches::table
            .filter(transaction_batches::key.eq(&batch.key))
            .filter(transaction_batches::org_id.eq(org_id)),
    )
    .execute(conn)?;
    Ok(())
}
