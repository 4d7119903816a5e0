//! A conflict found by an upload: the server changed (or deleted) a record after the version
//! the client wrote on, settled by the connection's policy.

use serde_json::json;

use super::{refresh, Upload, UploadNote, Uploaded};
use crate::db::conflicts::{self, ConflictRow};
use crate::db::transactions as tx;
use crate::db::{now_micros, write_tx, Json};
use crate::domain::error::Code;
use crate::domain::jobs::LogLevel;
use crate::domain::setup::ConflictPolicy;
use crate::domain::transaction::{ConflictStatus, Resolution, TxError};
use crate::sync::EngineError;
use crate::wire::batch::BatchOperation;

impl Upload<'_> {
    /// The server changed (or deleted) the record after the version the client wrote on.
    /// True when the transactions are parked for a person to resolve.
    pub(super) async fn conflict(
        &self,
        ids: &[String],
        op: &BatchOperation,
        out: &mut Uploaded,
    ) -> Result<bool, EngineError> {
        let server = self.provider.record(&op.entity, &op.id).await?;
        let members = ids.to_vec();
        let org_id = self.org_id;
        let changed = match &server {
            Some(r) => format!(
                "the server changed the record (now at version {})",
                r.version
            ),
            None => "the server deleted the record".to_owned(),
        };
        let settled = match self.policy {
            ConflictPolicy::ServerWins => {
                "ServerWins: the server's record stays, the client's change is dropped".to_owned()
            }
            ConflictPolicy::ClientWins => {
                "ClientWins: the attributes the client changed are sent again".to_owned()
            }
            ConflictPolicy::ClientWinsFull => {
                "ClientWinsFull: the client's whole record is sent again".to_owned()
            }
            ConflictPolicy::Manual => "Manual: parked as a conflict until Resolve".to_owned(),
        };
        out.notes.push(UploadNote {
            level: LogLevel::Warning,
            action: "Conflict",
            entity: op.entity.clone(),
            id: op.id.clone(),
            message: format!("{changed} after the version the client wrote on; {settled}"),
        });
        match self.policy {
            ConflictPolicy::ServerWins => {
                self.engine
                    .db
                    .run(move |conn| {
                        tx::settle_conflict(conn, &members, Resolution::ServerWins, false)
                    })
                    .await?;
                refresh(self.engine, org_id, &op.entity, &op.id, server).await?;
                out.delivered.extend(ids.iter().cloned());
            }
            ConflictPolicy::ClientWins | ConflictPolicy::ClientWinsFull => {
                // A record the server deleted comes back whole, never from a few attributes.
                let full = self.policy == ConflictPolicy::ClientWinsFull || server.is_none();
                let how = if full {
                    Resolution::ClientWinsFull
                } else {
                    Resolution::ClientWins
                };
                self.engine
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
                    client_attributes: op.attributes.clone().map(Json::new),
                    server_record: server.as_ref().map(|r| {
                        Json::new(json!({"Version": r.version, "ModifiedOn": r.modified_on, "Attributes": r.attributes}))
                    }),
                    status: ConflictStatus::Open,
                    created_on: now_micros(),
                    resolved_on: None,
                    resolution: None,
                };
                let message = match &server {
                    Some(r) => format!("the server changed the record (now at version {}) after the version the client wrote on", r.version),
                    None => "the server deleted the record after the version the client wrote on".to_owned(),
                };
                let error = TxError::new(Code::Conflict.as_str(), message);
                self.engine
                    .db
                    .run(move |conn| {
                        write_tx(conn, |conn| {
                            tx::settle_error(conn, &members, &error, false)?;
                            conflicts::open(conn, &row)
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
