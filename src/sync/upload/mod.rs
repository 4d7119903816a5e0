//! The upload: pending client transactions to the server, in creation order, in batches sent
//! with an Idempotency-Key. A batch is stored before it is sent and sent again as it was when
//! its answer was lost, so nothing applies twice. Conflicts (the server changed the record
//! since the version the client wrote on) are settled by the connection's policy.

mod conflict;
mod guard;

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::outbox::{chains, combine, needs};
use super::{Engine, EngineError, Report};
use crate::db::batches::{self, Batch};
use crate::db::connections::ConnectionRow;
use crate::db::records::{self, Precondition, WriteKind, WriteOp};
use crate::db::transactions::{self as tx, Delivered};
use crate::db::{metadata, write_tx, DbConn, DbResult};
use crate::domain::error::{Code, Refusal};
use crate::domain::jobs::{LogLevel, Summary};
use crate::domain::names::RecordId;
use crate::domain::record::{normalize, Source};
use crate::domain::safety::DeleteGuard;
use crate::domain::setup::ConflictPolicy;
use crate::domain::transaction::TxError;
use crate::providers::{Provider, RemoteRecord, Written};
use crate::wire::batch::BatchOp;

/// Most operations per batch sent to the server (fewer when `ORGSYNC_SYNC_BATCH` says so).
pub const MAX_BATCH_OPS: usize = 1000;

/// What an upload did.
#[derive(Debug, Default)]
pub struct Uploaded {
    pub summary: Summary,
    /// Transaction ids delivered (or collapsed), errored, and held by conflicts.
    pub delivered: Vec<String>,
    pub failed: Vec<String>,
    /// The delete guard held the deletes of some entity: the job ends `Held`.
    pub held: bool,
    /// What became of each record's operation, for the job's log (and a record's timeline).
    pub notes: Vec<UploadNote>,
}

/// What became of one record's operation in an upload.
#[derive(Debug, Clone)]
pub struct UploadNote {
    pub level: LogLevel,
    /// `Deliver`, `Fail` or `Conflict`.
    pub action: &'static str,
    pub entity: String,
    pub id: String,
    pub message: String,
}

pub struct Upload<'a> {
    engine: &'a Engine,
    provider: &'a dyn Provider,
    org_id: i64,
    policy: ConflictPolicy,
    guard: DeleteGuard,
    /// Only these transactions (an immediate delivery); all pending ones otherwise.
    only: Option<Vec<String>>,
    /// Entities whose links wait for a Send snapshot: nothing of theirs is sent.
    skip: Vec<String>,
}

impl<'a> Upload<'a> {
    pub fn new(
        engine: &'a Engine,
        provider: &'a dyn Provider,
        org_id: i64,
        connection: &ConnectionRow,
        only: Option<Vec<String>>,
    ) -> Self {
        Self {
            engine,
            provider,
            org_id,
            policy: connection.conflict_policy,
            guard: connection.guard(),
            only,
            skip: Vec::new(),
        }
    }

    /// Sends nothing of these entities (their links wait for a Send snapshot).
    pub fn skipping(mut self, entities: Vec<String>) -> Self {
        self.skip = entities;
        self
    }

    /// Sends batches until nothing is left to send, looking at the job's `report` at each
    /// batch boundary. Stops at the first batch the server could not take, leaving it to be
    /// sent again as it was.
    pub async fn run(&self, report: Option<&dyn Report>) -> Result<Uploaded, EngineError> {
        let mut out = Uploaded::default();
        let held = match report {
            Some(r) => self.guard_deletes(r, &mut out).await?,
            None => Vec::new(),
        };
        let mut rounds = 0;
        // The batch claimed while the one before it was in flight: sent next.
        let mut ahead: Option<Batch> = None;
        loop {
            rounds += 1;
            if rounds > 100_000 {
                return Err(Refusal::new(Code::UploadLoop, "the upload did not settle").into());
            }
            if let Some(r) = report {
                if let Err(e) = r.checkpoint().await {
                    if let Some(next) = ahead.take() {
                        self.release(next).await?;
                    }
                    return Err(e);
                }
            }
            let batch = match ahead.take() {
                Some(batch) => Some(batch),
                None => {
                    let (org_id, only) = (self.org_id, self.only.clone());
                    let unsettled = self
                        .engine
                        .db
                        .run(move |conn| batches::unsettled(conn, org_id, only.as_deref()))
                        .await?;
                    match unsettled {
                        Some(batch) => Some(batch),
                        None => self.claim(held.clone()).await?,
                    }
                }
            };
            let Some(batch) = batch else { break };
            if let Some(r) = report {
                self.quarantine_server(r, &batch).await?;
            }
            // The next batch is claimed while this one is in flight. It leaves out this one's
            // records: their next operations start from what the server answers now.
            let mut waiting = held.clone();
            waiting.extend(
                batch
                    .operations
                    .iter()
                    .map(|op| (op.entity.clone(), op.id.clone(), i64::MIN)),
            );
            let (written, claimed) = tokio::join!(
                self.provider.write_batch(&batch.key, &batch.operations),
                self.claim(waiting)
            );
            match written {
                Ok(results) => {
                    self.settle(&batch, results, &mut out).await?;
                    ahead = claimed?;
                }
                Err(e) => {
                    // The batch claimed meanwhile was never sent: its transactions go back.
                    if let Ok(Some(next)) = claimed {
                        self.release(next).await?;
                    }
                    let keep = e.retryable();
                    let ids: Vec<String> = batch.members.iter().flatten().cloned().collect();
                    let error = TxError::new(e.code().as_str(), e.to_string());
                    let failed = ids.clone();
                    self.engine
                        .db
                        .run(move |conn| tx::settle_error(conn, &failed, &error, keep))
                        .await?;
                    out.failed.extend(ids);
                    return Err(e.into());
                }
            }
        }
        Ok(out)
    }

    /// Claims and stores the next batch of pending transactions, leaving out the records
    /// `held` (entity, record id, and the sequence they wait behind).
    async fn claim(&self, held: Vec<(String, String, i64)>) -> Result<Option<Batch>, EngineError> {
        let (org_id, only, skip) = (self.org_id, self.only.clone(), self.skip.clone());
        let max_ops = (self.engine.settings.sync_batch as usize).min(MAX_BATCH_OPS);
        Ok(self
            .engine
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    claim(conn, org_id, max_ops, only.as_deref(), &skip, &held)
                })
            })
            .await?)
    }

    /// Gives back the transactions of a batch claimed but never sent.
    async fn release(&self, batch: Batch) -> Result<(), EngineError> {
        let org_id = self.org_id;
        Ok(self
            .engine
            .db
            .run(move |conn| write_tx(conn, |conn| batches::release(conn, org_id, &batch)))
            .await?)
    }

    /// Records the server's answers: every delivered or refused operation in one database
    /// transaction, then the conflicts one by one (they may read the server's record).
    async fn settle(
        &self,
        batch: &Batch,
        results: Vec<Written>,
        out: &mut Uploaded,
    ) -> Result<(), EngineError> {
        let mut delivered: Vec<Delivered> = Vec::new();
        let mut refused: Vec<(Vec<String>, TxError)> = Vec::new();
        let mut conflicts = Vec::new();
        let mut results = results.into_iter();
        for (ids, op) in batch.members.iter().zip(&batch.operations) {
            let entry = out.summary.entry(op.entity.clone()).or_default();
            let written = results.next().unwrap_or(Written::Refused {
                code: Code::ServerRejected.as_str().to_owned(),
                message: "the server gave no result for this operation".to_owned(),
            });
            let server_version = match written {
                Written::Applied { version } => Ok(version),
                // A delete of a record already gone on the server is done too.
                Written::NotFound { .. } if op.op == BatchOp::Delete => Ok(None),
                Written::Stale => {
                    entry.conflicts += 1;
                    conflicts.push((ids, op));
                    continue;
                }
                Written::NotFound { code, message } | Written::Refused { code, message } => {
                    Err(TxError::new(&code, message))
                }
            };
            match server_version {
                Ok(server_version) => {
                    out.notes.push(UploadNote {
                        level: LogLevel::Info,
                        action: "Deliver",
                        entity: op.entity.clone(),
                        id: op.id.clone(),
                        message: format!("{:?} delivered to the server", op.op),
                    });
                    delivered.push(Delivered {
                        ids: ids.clone(),
                        entity: op.entity.clone(),
                        record_id: op.id.clone(),
                        server_version,
                    });
                    entry.uploaded += 1;
                    out.delivered.extend(ids.iter().cloned());
                }
                Err(error) => {
                    out.notes.push(UploadNote {
                        level: LogLevel::Error,
                        action: "Fail",
                        entity: op.entity.clone(),
                        id: op.id.clone(),
                        message: format!(
                            "the server refused it ({}): {}",
                            error.code, error.message
                        ),
                    });
                    refused.push((ids.clone(), error));
                    entry.failed += 1;
                    out.failed.extend(ids.iter().cloned());
                }
            }
        }
        let org_id = self.org_id;
        self.engine
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    tx::settle_delivered(conn, org_id, &delivered)?;
                    for (ids, error) in &refused {
                        tx::settle_error(conn, ids, error, false)?;
                    }
                    Ok::<_, EngineError>(())
                })
            })
            .await?;
        for (ids, op) in conflicts {
            if self.conflict(ids, op, out).await? {
                out.summary.entry(op.entity.clone()).or_default().failed += 1;
            }
        }
        Ok(())
    }
}

/// Claims the next pending transactions (whole chains of a record, in creation order, skipping
/// records held up behind an error or by the delete guard: `held`) and stores the batch they
/// make before it is sent. A chain created and deleted before delivery needs no operation: it
/// is settled as collapsed. Inside a write transaction.
fn claim(
    conn: &mut DbConn,
    org_id: i64,
    max_ops: usize,
    only: Option<&[String]>,
    skip: &[String],
    held: &[(String, String, i64)],
) -> DbResult<Option<Batch>> {
    // As many transactions as the batch may carry operations: a record with several of them
    // makes the batch smaller, never wrong (a chain cut at the window's end goes on in the next
    // batch, in order). Reading four times as many cost half of an upload's claiming, each of
    // them read and parsed to be dropped.
    let read = i64::try_from(max_ops).unwrap_or(i64::MAX);
    let mut errored = batches::errored(conn, org_id)?;
    errored.extend_from_slice(held);
    let mut after = i64::MIN;
    // Chains that collapsed leave room, and a window of waiting records does not stop the
    // ones after it: look on until a batch or nothing is left.
    loop {
        let pending = batches::next_pending(conn, org_id, only, skip, after, read)?;
        let Some(last) = pending.last().map(|t| t.seq) else {
            return Ok(None);
        };
        let chains = chains(pending, &errored, max_ops);
        if chains.is_empty() {
            after = last;
            continue;
        }
        let mut batch = Batch {
            key: uuid::Uuid::now_v7().to_string(),
            operations: Vec::new(),
            members: Vec::new(),
        };
        for chain in &chains {
            let ids: Vec<String> = chain.iter().map(|t| t.id.clone()).collect();
            let need = needs(chain);
            let first = &chain[0];
            let whole = if need.whole_record {
                Some(whole_record(conn, org_id, &first.entity, &first.record_id)?)
            } else {
                None
            };
            let server_version = if need.server_version {
                records::get(conn, org_id, &first.entity, &first.record_id)?
                    .and_then(|r| r.server_version)
            } else {
                None
            };
            match combine(chain, whole, server_version) {
                Some(op) => {
                    batch.operations.push(op);
                    batch.members.push(ids);
                }
                None => tx::settle_collapsed(conn, &ids)?,
            }
        }
        if !batch.operations.is_empty() {
            batches::store_batch(conn, org_id, &batch)?;
            return Ok(Some(batch));
        }
    }
}

/// The client's whole record, with every other attribute of its entity cleared (null), so a
/// merge on the server comes to a replace.
fn whole_record(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    id: &str,
) -> DbResult<Map<String, Value>> {
    let mut attrs = match records::get(conn, org_id, entity, id)?.filter(|r| !r.deleted) {
        Some(row) => records::stored_attributes(&row)?,
        None => Map::new(),
    };
    if let Some(def) = metadata::entity(conn, org_id, entity)? {
        for a in &def.attributes {
            attrs.entry(a.name.to_string()).or_insert(Value::Null);
        }
    }
    Ok(attrs)
}

/// Writes the server's current record (or its absence) to the client, as a sync would: with
/// the server's version, and without a transaction.
pub async fn refresh(
    engine: &Engine,
    org_id: i64,
    entity: &str,
    id: &str,
    server: Option<RemoteRecord>,
) -> Result<(), EngineError> {
    let entity = entity.to_owned();
    let max_bytes = engine.settings.record_max_bytes;
    let Ok(record_id) = RecordId::parse(id) else {
        return Ok(());
    };
    engine
        .db
        .run(move |conn| {
            let def = metadata::require_entity(conn, org_id, &entity)?;
            let op = match server {
                Some(r) => WriteOp {
                    entity: entity.clone(),
                    id: record_id,
                    kind: WriteKind::Replace,
                    attributes: normalize(&def, &r.attributes, Source::Json)
                        .map_err(|e| Refusal::new(e.code, e.message))?,
                    text: None,
                    precondition: Precondition::None,
                    server_version: Some(r.version),
                },
                None => WriteOp {
                    entity: entity.clone(),
                    id: record_id,
                    kind: WriteKind::Delete,
                    attributes: Map::new(),
                    text: None,
                    precondition: Precondition::None,
                    server_version: None,
                },
            };
            let defs = HashMap::from([(entity, def)]);
            // A record already gone on the client is fine.
            let _ = write_tx(conn, |conn| {
                records::apply(conn, org_id, &defs, std::slice::from_ref(&op), max_bytes)
            })?;
            Ok(())
        })
        .await
}
