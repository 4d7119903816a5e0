//! A person settles a conflict the Manual policy parked: taking the server's side archives the
//! client's change and brings the server's record; taking the client's sends the client's
//! whole record (at once when writes are not offline).

use super::upload::refresh;
use super::{Engine, EngineError};
use crate::db::conflicts::{self, ConflictRow};
use crate::db::transactions as tx;
use crate::db::{connections, write_tx, DbConn};
use crate::domain::error::{Code, Refusal};
use crate::domain::transaction::{ConflictStatus, Resolution, Take};

impl Engine {
    pub async fn resolve_conflict(
        &self,
        org: &str,
        id: &str,
        take: Take,
    ) -> Result<ConflictRow, EngineError> {
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
                let ids = self
                    .db
                    .run(move |conn| {
                        write_tx(conn, |conn| {
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
