//! A person settles a conflict the Manual policy parked: taking the server's side archives the
//! client's change and brings the server's record; taking the client's sends the client's
//! whole record (at once when writes are not offline), after the fields the person took from
//! the server replaced the client's.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::upload::refresh;
use super::{Engine, EngineError};
use crate::db::conflicts::{self, ConflictRow};
use crate::db::records::{self, Precondition, WriteKind, WriteOp};
use crate::db::transactions as tx;
use crate::db::{connections, metadata, write_tx, DbConn};
use crate::domain::error::{self, Code, Refusal};
use crate::domain::names::RecordId;
use crate::domain::record::{normalize_owned, Source};
use crate::domain::transaction::{ConflictStatus, Resolution, Take};

impl Engine {
    pub async fn resolve_conflict(
        &self,
        org: &str,
        id: &str,
        take: Take,
        chosen: Option<Map<String, Value>>,
    ) -> Result<ConflictRow, EngineError> {
        if take == Take::Server && chosen.is_some() {
            return Err(Refusal::new(
                Code::InvalidField,
                "Attributes go with Take: Client (the server's values the client's record takes)",
            )
            .field("Attributes")
            .into());
        }
        let (org, id) = (org.to_owned(), id.to_owned());
        let (org_id, row, connection) = self
            .db
            .run(move |conn| {
                let (org_row, connection) = connections::of_org(conn, &org)?;
                let row = conflicts::get(conn, org_row.id, &id)?;
                Ok::<_, EngineError>((org_row.id, row, connection))
            })
            .await?;
        if row.status != ConflictStatus::Open {
            return Err(Refusal::new(
                Code::ConflictResolved,
                format!("conflict '{}' is already resolved", row.id),
            )
            .into());
        }
        let provider = self.provider_for(&connection)?;
        let (entity, record_id, conflict_id) =
            (row.entity.clone(), row.record_id.clone(), row.id.clone());
        let chain_of = move |conn: &mut DbConn| -> Result<Vec<String>, EngineError> {
            Ok(tx::open_chain(conn, org_id, &entity, &record_id)?
                .into_iter()
                .map(|t| t.id)
                .collect())
        };
        let cid = conflict_id.clone();
        match take {
            Take::Server => {
                let server = provider.record(&row.entity, &row.record_id).await?;
                self.db
                    .run(move |conn| {
                        write_tx(conn, |conn| {
                            let ids = chain_of(conn)?;
                            tx::set_archived_resolved(conn, &ids, Resolution::Server)?;
                            Ok::<_, EngineError>(conflicts::close(conn, &cid, Take::Server)?)
                        })
                    })
                    .await?;
                refresh(self, org_id, &row.entity, &row.record_id, server).await?;
            }
            Take::Client => {
                let (entity, record_id) = (row.entity.clone(), row.record_id.clone());
                let max_bytes = self.settings.record_max_bytes;
                let ids = self
                    .db
                    .run(move |conn| {
                        write_tx(conn, |conn| {
                            if let Some(chosen) = chosen {
                                take_fields(conn, org_id, &entity, &record_id, chosen, max_bytes)?;
                            }
                            let ids = chain_of(conn)?;
                            tx::settle_conflict(conn, &ids, Resolution::ClientWinsFull, true)?;
                            conflicts::close(conn, &cid, Take::Client)?;
                            Ok::<_, EngineError>(ids)
                        })
                    })
                    .await?;
                self.deliver_now(org_id, ids).await;
            }
        }
        Ok(self
            .db
            .run(move |conn| conflicts::get(conn, org_id, &conflict_id))
            .await?)
    }
}

/// Writes the fields taken from the server into the client's record (checked against the
/// entity like any write), so that the whole record the resolution sends holds them. The
/// write is not a transaction of its own: it rides with the resolved chain.
fn take_fields(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    id: &str,
    chosen: Map<String, Value>,
    max_bytes: usize,
) -> Result<(), EngineError> {
    let def = metadata::require_entity(conn, org_id, entity)?;
    let attributes = normalize_owned(&def, chosen, Source::Json)
        .map_err(|e| error::invalid_record(entity, e))?;
    let op = WriteOp {
        entity: entity.to_owned(),
        id: RecordId::parse(id).map_err(|e| Refusal::new(Code::InvalidName, e.to_string()))?,
        kind: WriteKind::Merge,
        attributes,
        text: None,
        precondition: Precondition::None,
        server_version: None,
    };
    let defs = HashMap::from([(entity.to_owned(), def)]);
    match records::apply(conn, org_id, &defs, &[op], max_bytes)?.pop() {
        Some(Err(refusal)) => Err(refusal.into()),
        _ => Ok(()),
    }
}
