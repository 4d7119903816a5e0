//! Client writes: one record or a batch, through the one write path, captured as transactions
//! for the links that send outbound (in the same database transaction as the write), and
//! delivered at once when the connection is not offline. The write stands whatever the server
//! says.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::outbox::diff;
use super::upload::Upload;
use super::{Engine, EngineError};
use crate::db::connections::LinkRow;
use crate::db::records::{self, Applied, Outcome, Precondition, RecordRow, WriteKind, WriteOp};
use crate::db::transactions::{self as tx, TxRow};
use crate::db::{
    connections, idempotency, metadata, now_micros, orgs, write_tx, DbConn, DbResult, Json,
};
use crate::domain::error::{entity_not_found, invalid_record, Code, Refusal};
use crate::domain::metadata::EntityDef;
use crate::domain::names::RecordId;
use crate::domain::record::{normalize, Source};
use crate::domain::transaction::{TxOp, TxStatus};
use crate::wire::batch::{
    BatchOp, BatchOperation, BatchRequest, BatchResponse, BatchResult, TransactionReceipt,
};
use crate::wire::problem::{status_of, Problem};

/// Most operations in one batch.
pub const MAX_OPERATIONS: usize = 10_000;

/// One write of a record, from an API call.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    pub org: String,
    pub entity: String,
    pub id: RecordId,
    pub kind: WriteKind,
    pub attributes: Map<String, Value>,
    pub source: Source,
    pub precondition: Precondition,
}

/// A write's result, with what became of the transaction it queued for the server.
#[derive(Debug)]
pub struct Written {
    pub applied: Applied,
    pub receipt: Option<TransactionReceipt>,
}

/// A batch's answer, and whether it was replayed from its `Idempotency-Key`.
#[derive(Debug)]
pub struct BatchOutcome {
    pub response: BatchResponse,
    pub replayed: bool,
}

impl Engine {
    /// Writes one record and delivers its transaction when the connection says so.
    pub async fn write_record(&self, w: RecordWrite) -> Result<Written, EngineError> {
        let max_bytes = self.settings.record_max_bytes;
        let (org_id, applied, captured) = self
            .db
            .run(move |conn| {
                let org = orgs::require(conn, &w.org)?;
                let def = metadata::require_entity(conn, org.id, &w.entity)?;
                let attributes = normalize(&def, &w.attributes, w.source)
                    .map_err(|e| invalid_record(&w.entity, e))?;
                let defs = HashMap::from([(w.entity.clone(), def)]);
                let op = WriteOp {
                    entity: w.entity,
                    id: w.id,
                    kind: w.kind,
                    attributes,
                    text: None,
                    precondition: w.precondition,
                    server_version: None,
                };
                let (mut results, captured) = write_tx(conn, |conn| {
                    write_and_capture(conn, org.id, &defs, std::slice::from_ref(&op), max_bytes)
                })?;
                let applied = results.pop().unwrap_or_else(|| {
                    Err(Refusal::new(Code::InternalError, "a write gave no result"))
                })?;
                Ok::<_, EngineError>((org.id, applied, captured))
            })
            .await?;
        let ids = captured.into_iter().map(|t| t.id).collect();
        let receipt = self.deliver_now(org_id, ids).await.pop();
        self.metrics.records_written.inc();
        Ok(Written { applied, receipt })
    }

    /// Applies the operations in order, in one transaction: each gets its own result, and one
    /// that fails changes nothing while the others go through. With `Idempotency-Key`, a
    /// replay returns the stored response and applies nothing; the same key with another body
    /// is refused.
    pub async fn apply_batch(
        &self,
        org: &str,
        request: BatchRequest,
        key: Option<String>,
        source: Source,
    ) -> Result<BatchOutcome, EngineError> {
        if request.operations.len() > MAX_OPERATIONS {
            return Err(Refusal::new(
                Code::TooManyOperations,
                format!(
                    "a batch holds at most {MAX_OPERATIONS} operations, this one {}",
                    request.operations.len()
                ),
            )
            .field("Operations")
            .into());
        }
        let fingerprint = hex::encode(Sha256::digest(
            serde_json::to_vec(&request)
                .map_err(|e| Refusal::new(Code::InternalError, e.to_string()))?,
        ));
        let org_name = org.to_owned();
        let max_bytes = self.settings.record_max_bytes;
        let (mut outcome, org_id, captured) = self
            .db
            .run(move |conn| {
                let org = orgs::require(conn, &org_name)?;
                let defs: HashMap<String, EntityDef> = metadata::entities(conn, org.id)?
                    .into_iter()
                    .map(|d| (d.name.to_string(), d))
                    .collect();
                // Check every operation against the metadata before taking the write lock.
                let checked: Vec<Result<WriteOp, Refusal>> = request
                    .operations
                    .iter()
                    .map(|op| check_operation(op, &defs, source))
                    .collect();
                write_tx(conn, |conn| {
                    orgs::lock(conn, org.id)?;
                    if let Some(key) = &key {
                        if let Some(stored) = idempotency::find(conn, org.id, key)? {
                            if stored.request_hash != fingerprint {
                                return Err(Refusal::new(
                                    Code::IdempotencyKeyReused,
                                    "this Idempotency-Key was used with a different request body",
                                )
                                .field("Idempotency-Key")
                                .into());
                            }
                            let response = serde_json::from_str(&stored.response).map_err(|e| {
                                crate::db::DbError::Corrupt(format!(
                                    "idempotency_keys ({key}): the stored response does not read: {e}"
                                ))
                            })?;
                            let replay = BatchOutcome {
                                response,
                                replayed: true,
                            };
                            return Ok((replay, org.id, Vec::new()));
                        }
                    }
                    let valid: Vec<WriteOp> = checked
                        .iter()
                        .filter_map(|c| c.as_ref().ok().cloned())
                        .collect();
                    let (applied, captured) =
                        write_and_capture(conn, org.id, &defs, &valid, max_bytes)?;
                    let mut applied = applied.into_iter();
                    let results = request
                        .operations
                        .iter()
                        .zip(checked)
                        .enumerate()
                        .map(|(index, (op, check))| {
                            let outcome = match check {
                                Ok(_) => applied.next().unwrap_or_else(|| {
                                    Err(Refusal::new(Code::InternalError, "missing batch result"))
                                }),
                                Err(e) => Err(e),
                            };
                            result_of(index, op, outcome)
                        })
                        .collect();
                    let response = BatchResponse { results };
                    if let Some(key) = &key {
                        let text = serde_json::to_string(&response)
                            .map_err(|e| Refusal::new(Code::InternalError, e.to_string()))?;
                        idempotency::store(conn, org.id, key, &fingerprint, &text)?;
                    }
                    let fresh = BatchOutcome {
                        response,
                        replayed: false,
                    };
                    Ok::<_, EngineError>((fresh, org.id, captured))
                })
            })
            .await?;
        // Delivered (or queued) after the commit: the writes stand whatever the server says.
        let ids: Vec<String> = captured.iter().map(|t| t.id.clone()).collect();
        let receipts = self.deliver_now(org_id, ids).await;
        for (tx, receipt) in captured.iter().zip(receipts) {
            if let Some(r) = outcome.response.results.iter_mut().find(|r| {
                r.id == tx.record_id && r.entity == tx.entity && r.version == Some(tx.seq)
            }) {
                r.transaction = Some(receipt);
            }
        }
        if !outcome.replayed {
            let written = outcome.response.results.iter().filter(|r| r.status < 300);
            self.metrics.records_written.inc_by(written.count() as u64);
        }
        Ok(outcome)
    }

    /// Delivers the transactions of a client write before its answer (WriteOffline=false); in
    /// offline mode they wait for the next sync. The write stands whatever the server says.
    pub async fn deliver_now(&self, org_id: i64, ids: Vec<String>) -> Vec<TransactionReceipt> {
        if ids.is_empty() {
            return Vec::new();
        }
        let connection = self
            .db
            .run(move |conn| connections::get(conn, org_id))
            .await;
        let online = matches!(&connection, Ok(Some(c)) if !c.write_offline);
        let mut note: Option<String> = None;
        if let (true, Ok(Some(c))) = (online, &connection) {
            match self.provider_for(c) {
                Ok(provider) => {
                    let upload = Upload::new(self, provider.as_ref(), org_id, c, Some(ids.clone()));
                    if let Err(e) = upload.run(None).await {
                        note = Some(crate::domain::jobs::JobError::from(e).to_string());
                    }
                }
                Err(e) => note = Some(crate::domain::jobs::JobError::from(e).to_string()),
            }
        }
        let wanted = ids.clone();
        let rows = self
            .db
            .run(move |conn| tx::get_many(conn, org_id, &wanted))
            .await
            .unwrap_or_default();
        ids.into_iter()
            .zip(rows)
            .map(|(id, row)| receipt(id, row, online, note.as_deref()))
            .collect()
    }
}

fn receipt(id: String, row: Option<TxRow>, online: bool, note: Option<&str>) -> TransactionReceipt {
    let status = row.as_ref().map_or(TxStatus::Pending, |r| r.status);
    let note = match status {
        TxStatus::Processed | TxStatus::Archived => None,
        TxStatus::Error if row.as_ref().is_some_and(|r| r.batch_key.is_some()) => Some(
            "its answer was not had: the next sync sends it again, with the same \
             Idempotency-Key"
                .to_owned(),
        ),
        TxStatus::Error => Some(
            "the server refused it: no sync sends it again; SetToPending sends it with the \
             next sync, SetToArchived sets it aside"
                .to_owned(),
        ),
        TxStatus::Pending if !online => Some("the next sync sends it (WriteOffline)".to_owned()),
        TxStatus::Pending => Some(match note {
            Some(why) => format!("not delivered now ({why}); the next sync sends it"),
            None => "waits behind an earlier transaction of the record; the next sync sends it"
                .to_owned(),
        }),
    };
    TransactionReceipt {
        transaction_id: id,
        status,
        error: row
            .filter(|r| r.status == TxStatus::Error)
            .and_then(|r| r.error.map(Json::into_inner)),
        note,
    }
}

fn check_operation(
    op: &BatchOperation,
    defs: &HashMap<String, EntityDef>,
    source: Source,
) -> Result<WriteOp, Refusal> {
    let def = defs
        .get(&op.entity)
        .ok_or_else(|| entity_not_found(&op.entity))?;
    let id = RecordId::parse(op.id.as_str()).map_err(|e| Refusal::from(e).field("Id"))?;
    let attributes = match (op.op, &op.attributes) {
        (BatchOp::Upsert, Some(a)) => {
            normalize(def, a, source).map_err(|e| invalid_record(&op.entity, e))?
        }
        (BatchOp::Upsert, None) | (BatchOp::Delete, None) => Map::new(),
        (BatchOp::Delete, Some(_)) => {
            return Err(
                Refusal::new(Code::InvalidOperation, "a Delete carries no Attributes")
                    .field("Attributes"),
            )
        }
    };
    Ok(WriteOp {
        entity: op.entity.clone(),
        id,
        kind: if op.op == BatchOp::Upsert {
            WriteKind::Upsert
        } else {
            WriteKind::Delete
        },
        attributes,
        text: None,
        precondition: op
            .if_version
            .map_or(Precondition::None, Precondition::Version),
        server_version: None,
    })
}

fn result_of(index: usize, op: &BatchOperation, outcome: Outcome) -> BatchResult {
    let (status, version, error) = match outcome {
        Ok(Applied::Created(r)) => (201, Some(r.version), None),
        Ok(Applied::Updated(r)) => (200, Some(r.version), None),
        Ok(Applied::Deleted(r)) => (204, Some(r.version), None),
        Err(e) => (status_of(e.kind()).0, None, Some(Problem::of(&e))),
    };
    BatchResult {
        index,
        op: op.op,
        entity: op.entity.clone(),
        id: op.id.clone(),
        status,
        version,
        error,
        transaction: None,
    }
}

/// A client write through the shared write path, captured as transactions in the same
/// database transaction. Run it inside a write transaction.
pub fn write_and_capture(
    conn: &mut DbConn,
    org_id: i64,
    defs: &HashMap<String, EntityDef>,
    ops: &[WriteOp],
    max_bytes: usize,
) -> DbResult<(Vec<Outcome>, Vec<TxRow>)> {
    let org = orgs::lock(conn, org_id)?;
    let before = records::load_many(
        conn,
        org_id,
        ops.iter().map(|op| (op.entity.as_str(), op.id.as_str())),
    )?;
    let results = records::apply_locked(conn, &org, defs, ops, before.clone(), max_bytes)?;
    let captured = capture(conn, org_id, &before, &results)?;
    Ok((results, captured))
}

/// Records the client writes `results` (of ops on the rows `before`) as transactions, for the
/// entities whose link sends outbound. Records written by a sync never come here: nothing
/// echoes back to the server.
fn capture(
    conn: &mut DbConn,
    org_id: i64,
    before: &HashMap<(String, String), RecordRow>,
    results: &[Outcome],
) -> DbResult<Vec<TxRow>> {
    if connections::get(conn, org_id)?.is_none() {
        return Ok(Vec::new());
    }
    let outbound: Vec<String> = connections::links(conn, org_id)?
        .into_iter()
        .filter(LinkRow::captures)
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
        rows.push(TxRow::pending(
            org_id,
            row,
            operation,
            attributes,
            base_version,
            now,
        ));
    }
    tx::insert(conn, &rows)?;
    Ok(rows)
}
