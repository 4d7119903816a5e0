//! The upload: pending client transactions to the server, in creation order, in batches sent
//! with an Idempotency-Key. A batch is stored before it is sent and sent again as it was when
//! its answer was lost, so nothing applies twice. Conflicts (the server changed the record
//! since the version the client wrote on) are settled by the connection's policy.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::api::batch::{BatchOperation, BatchResult};
use crate::db::connections::ConnectionRow;
use crate::db::records::{self, Precondition, WriteKind, WriteOp};
use crate::db::transactions::{self as tx, Batch, ConflictRow};
use crate::db::{metadata, now_micros, write_tx};
use crate::domain::names::RecordId;
use crate::domain::record::{normalize, Source};
use crate::domain::setup::ConflictPolicy;
use crate::error::ApiError;
use crate::jobs::{JobError, Summary};
use crate::providers::Provider;
use crate::AppState;

/// Most operations per batch sent to the server (fewer when `ORGSYNC_SYNC_BATCH` says so).
pub const MAX_BATCH_OPS: usize = 1000;

/// What an upload did.
#[derive(Debug, Default)]
pub struct Uploaded {
    pub summary: Summary,
    /// Transaction ids delivered (or collapsed), errored, and held by conflicts.
    pub delivered: Vec<String>,
    pub failed: Vec<String>,
}

pub struct Upload<'a> {
    pub state: &'a AppState,
    pub provider: &'a dyn Provider,
    pub org_id: i64,
    pub policy: ConflictPolicy,
    /// Only these transactions (an immediate delivery); all pending ones otherwise.
    pub only: Option<Vec<String>>,
}

impl Upload<'_> {
    pub fn new<'a>(
        state: &'a AppState,
        provider: &'a dyn Provider,
        org_id: i64,
        connection: &ConnectionRow,
        only: Option<Vec<String>>,
    ) -> Upload<'a> {
        Upload {
            state,
            provider,
            org_id,
            policy: ConflictPolicy::parse(&connection.conflict_policy).unwrap_or_default(),
            only,
        }
    }

    /// Sends batches until nothing is left to send, checking the `job`'s cancel at each batch
    /// boundary. Stops at the first batch the server could not take, leaving it to be sent
    /// again as it was.
    pub async fn run(
        &self,
        job: Option<&crate::jobs::worker::JobContext>,
    ) -> Result<Uploaded, JobError> {
        let mut out = Uploaded::default();
        let mut rounds = 0;
        loop {
            rounds += 1;
            if rounds > 100_000 {
                return Err(JobError::fatal("upload_loop", "the upload did not settle"));
            }
            if let Some(ctx) = job {
                ctx.checkpoint().await?;
            }
            let (org_id, only) = (self.org_id, self.only.clone());
            let max_ops = (self.state.settings.sync_batch as usize).min(MAX_BATCH_OPS);
            let batch = self
                .state
                .db
                .run(move |conn| {
                    if let Some(b) = tx::unsettled(conn, org_id, only.as_deref())? {
                        return Ok(Some(b));
                    }
                    write_tx(conn, |conn| {
                        tx::claim(conn, org_id, max_ops, only.as_deref())
                    })
                })
                .await?;
            let Some(batch) = batch else { break };
            let operations: Vec<BatchOperation> =
                serde_json::from_value(batch.body["Operations"].clone()).map_err(|e| {
                    JobError::fatal(
                        "internal_error",
                        format!("a stored batch does not parse: {e}"),
                    )
                })?;
            match self.provider.write_batch(&batch.key, &operations).await {
                Ok(results) => self.settle(&batch, &operations, results, &mut out).await?,
                Err(e) => {
                    let keep = e.retryable();
                    let ids: Vec<String> = batch.members.iter().flatten().cloned().collect();
                    let (code, message) = (e.code().to_owned(), e.to_string());
                    let failed = ids.clone();
                    self.state
                        .db
                        .run(move |conn| tx::settle_error(conn, &failed, &code, &message, keep))
                        .await?;
                    out.failed.extend(ids);
                    return Err(e.into());
                }
            }
        }
        Ok(out)
    }

    /// Records the server's answers: every delivered or refused operation in one database
    /// transaction, then the conflicts one by one (they may read the server's record).
    async fn settle(
        &self,
        batch: &Batch,
        operations: &[BatchOperation],
        results: Vec<BatchResult>,
        out: &mut Uploaded,
    ) -> Result<(), JobError> {
        let mut delivered: Vec<tx::Delivered> = Vec::new();
        let mut refused: Vec<(Vec<String>, String, String)> = Vec::new();
        let mut conflicts = Vec::new();
        for (i, (ids, op)) in batch.members.iter().zip(operations).enumerate() {
            let result = results.get(i);
            let status = result.map_or(500, |r| r.status);
            let entry = out.summary.entry(op.entity.clone()).or_default();
            let gone = status == 404 && op.op == crate::api::batch::BatchOp::Delete;
            if (200..300).contains(&status) || gone {
                // A delete of a record already gone on the server is done too.
                delivered.push(tx::Delivered {
                    ids: ids.clone(),
                    entity: op.entity.clone(),
                    record_id: op.id.clone(),
                    server_version: if gone {
                        None
                    } else {
                        result.and_then(|r| r.version)
                    },
                });
                entry.uploaded += 1;
                out.delivered.extend(ids.iter().cloned());
            } else if status == 412 {
                entry.conflicts += 1;
                conflicts.push((ids, op));
            } else {
                let (code, message) = result.and_then(|r| r.error.as_ref()).map_or(
                    ("server_rejected".to_owned(), format!("status {status}")),
                    |p| (p.code.clone(), p.detail.clone()),
                );
                refused.push((ids.clone(), code, message));
                entry.failed += 1;
                out.failed.extend(ids.iter().cloned());
            }
        }
        let org_id = self.org_id;
        self.state
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    tx::settle_delivered(conn, org_id, &delivered)?;
                    for (ids, code, message) in &refused {
                        tx::settle_error(conn, ids, code, message, false)?;
                    }
                    Ok(())
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

    /// The server changed (or deleted) the record after the version the client wrote on.
    /// True when the transactions are parked for a person to resolve.
    async fn conflict(
        &self,
        ids: &[String],
        op: &BatchOperation,
        out: &mut Uploaded,
    ) -> Result<bool, JobError> {
        let server = self.provider.record(&op.entity, &op.id).await?;
        let members = ids.to_vec();
        let org_id = self.org_id;
        match self.policy {
            ConflictPolicy::ServerWins => {
                self.state
                    .db
                    .run(move |conn| tx::settle_conflict(conn, &members, "ServerWins", false))
                    .await?;
                refresh(self.state, org_id, &op.entity, &op.id, server).await?;
                out.delivered.extend(ids.iter().cloned());
            }
            ConflictPolicy::ClientWins | ConflictPolicy::ClientWinsFull => {
                // A record the server deleted comes back whole, never from a few attributes.
                let full = self.policy == ConflictPolicy::ClientWinsFull || server.is_none();
                let how = if full { "ClientWinsFull" } else { "ClientWins" };
                self.state
                    .db
                    .run(move |conn| tx::settle_conflict(conn, &members, how, true))
                    .await?;
            }
            ConflictPolicy::Manual => {
                let row = ConflictRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    org_id,
                    transaction_id: ids.first().cloned().unwrap_or_default(),
                    entity: op.entity.clone(),
                    record_id: op.id.clone(),
                    client_attributes: op.attributes.as_ref().map(|a| Value::Object(a.clone()).to_string()),
                    server_record: server.as_ref().map(|r| {
                        json!({"Version": r.version, "ModifiedOn": r.modified_on, "Attributes": r.attributes}).to_string()
                    }),
                    status: "Open".to_owned(),
                    created_on: now_micros(),
                    resolved_on: None,
                    resolution: None,
                };
                let message = match &server {
                    Some(r) => format!("the server changed the record (now at version {}) after the version the client wrote on", r.version),
                    None => "the server deleted the record after the version the client wrote on".to_owned(),
                };
                self.state
                    .db
                    .run(move |conn| {
                        write_tx(conn, |conn| {
                            tx::settle_error(conn, &members, "conflict", &message, false)?;
                            tx::open_conflict(conn, &row)
                        })
                    })
                    .await?;
                out.failed.extend(ids.iter().cloned());
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Writes the server's current record (or its absence) to the client, as a sync would: with
/// the server's version, and without a transaction.
pub async fn refresh(
    state: &AppState,
    org_id: i64,
    entity: &str,
    id: &str,
    server: Option<crate::providers::RemoteRecord>,
) -> Result<(), ApiError> {
    let entity = entity.to_owned();
    let Ok(record_id) = RecordId::parse(id) else {
        return Ok(());
    };
    state
        .db
        .run(move |conn| {
            let def = metadata::require_entity(conn, org_id, &entity)?;
            let op = match server {
                Some(r) => WriteOp {
                    entity: entity.clone(),
                    id: record_id,
                    kind: WriteKind::Replace,
                    attributes: normalize(&def, &r.attributes, Source::Json)
                        .map_err(|e| ApiError::unprocessable(e.code, e.message))?,
                    precondition: Precondition::None,
                    server_version: Some(r.version),
                },
                None => WriteOp {
                    entity: entity.clone(),
                    id: record_id,
                    kind: WriteKind::Delete,
                    attributes: Map::new(),
                    precondition: Precondition::None,
                    server_version: None,
                },
            };
            let defs = HashMap::from([(entity, def)]);
            // A record already gone on the client is fine.
            let _ = write_tx(conn, |conn| {
                records::apply(conn, org_id, &defs, std::slice::from_ref(&op))
            })?;
            Ok(())
        })
        .await
}

/// What became of one client write's transaction, told in the write's answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TransactionReceipt {
    pub transaction_id: String,
    /// `Delivered` (the server has it), `Queued` (it will be retried; `Error` says why it
    /// could not be delivered now) or `Pending` (offline mode: the next sync sends it).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Delivers the transactions of a client write before its answer (WriteOffline=false); in
/// offline mode they wait for the next sync. The write stands whatever the server says.
pub async fn deliver_now(
    state: &AppState,
    org_id: i64,
    ids: Vec<String>,
) -> Vec<TransactionReceipt> {
    if ids.is_empty() {
        return Vec::new();
    }
    let connection = state
        .db
        .run(move |conn| crate::db::connections::get(conn, org_id))
        .await;
    let online = matches!(&connection, Ok(Some(c)) if !c.write_offline);
    let mut note: Option<String> = None;
    if let (true, Ok(Some(c))) = (online, &connection) {
        match crate::sync::provider_for(state, c) {
            Ok(provider) => {
                let upload = Upload::new(state, provider.as_ref(), org_id, c, Some(ids.clone()));
                if let Err(e) = upload.run(None).await {
                    note = Some(format!("{}: {}", e.code, e.message));
                }
            }
            Err(e) => note = Some(format!("{}: {}", e.code, e.message)),
        }
    }
    let wanted = ids.clone();
    let rows = state
        .db
        .run(move |conn| {
            wanted
                .iter()
                .map(|id| tx::get(conn, org_id, id))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .unwrap_or_default();
    ids.into_iter()
        .zip(rows)
        .map(|(id, row)| {
            let (status, error) = match row {
                Some(r) if r.status() == tx::TxStatus::Processed => ("Delivered", None),
                Some(r) if !online => ("Pending", r.error),
                Some(r) => (
                    "Queued",
                    r.error.or_else(|| note.clone()).or_else(|| {
                        Some("waits behind an earlier transaction of the record".to_owned())
                    }),
                ),
                None => ("Queued", note.clone()),
            };
            TransactionReceipt {
                transaction_id: id,
                status: status.to_owned(),
                error,
            }
        })
        .collect()
}
