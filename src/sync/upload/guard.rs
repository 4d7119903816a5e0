//! The delete guard on the upload: the client's deletes of server records counted per entity
//! before anything is sent, and the server's records a batch deletes kept in the job's
//! quarantine before it is sent.

use std::collections::BTreeMap;

use super::Upload;
use crate::db::batches::{self, Batch};
use crate::db::quarantine::{self, NewQuarantine};
use crate::db::{now_micros, Json};
use crate::domain::jobs::LogLevel;
use crate::domain::safety::DeleteGuard;
use crate::sync::{EngineError, Report};
use crate::wire::batch::BatchOp;

impl Upload<'_> {
    /// Counts the job's deletes of server records per entity against the delete guard. Over
    /// it (and not approved), the entity's deletes wait: the records whose delete is held are
    /// given back, and the summary and the log name them.
    pub(super) async fn guard_deletes(
        &self,
        report: &dyn Report,
        out: &mut super::Uploaded,
    ) -> Result<Vec<(String, String, i64)>, EngineError> {
        if report.deletes_approved() || self.guard == DeleteGuard::Off {
            return Ok(Vec::new());
        }
        let (org_id, only) = (self.org_id, self.only.clone());
        let pending = self
            .engine
            .db
            .run(move |conn| batches::pending_deletes(conn, org_id, only.as_deref()))
            .await?;
        let mut per_entity: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (entity, id) in pending {
            if self.skip.contains(&entity) {
                continue;
            }
            per_entity.entry(entity).or_default().push(id);
        }
        let mut held = Vec::new();
        for (entity, ids) in per_entity {
            let planned = ids.len() as u64;
            // Unknown on the server's side: only the count limit applies.
            let holding = self
                .provider
                .count(&entity)
                .await
                .ok()
                .flatten()
                .unwrap_or(u64::MAX);
            if !self.guard.holds(planned, holding) {
                continue;
            }
            out.held = true;
            out.summary
                .entry(entity.clone())
                .or_default()
                .planned_deletes = planned;
            let of = if holding == u64::MAX {
                String::new()
            } else {
                format!(" of the {holding} records the server holds")
            };
            let mut lines = vec![report
                .entry(
                    LogLevel::Warning,
                    "DeleteGuard",
                    format!(
                        "held: {planned} client deletes{of} cross the delete guard ({}); none \
                         is sent until the job is approved",
                        self.guard
                    ),
                )
                .entity(&entity)];
            for id in &ids {
                lines.push(
                    report
                        .entry(
                            LogLevel::Info,
                            "Planned",
                            "planned delete on the server, held by the delete guard".to_owned(),
                        )
                        .entity(&entity)
                        .record(id),
                );
                held.push((entity.clone(), id.clone(), i64::MIN));
            }
            report.log(lines).await?;
        }
        Ok(held)
    }

    /// Keeps the server's records a batch deletes in the job's quarantine, read before the
    /// batch is sent (a record already gone has nothing to keep).
    pub(super) async fn quarantine_server(
        &self,
        report: &dyn Report,
        batch: &Batch,
    ) -> Result<(), EngineError> {
        let now = now_micros();
        let mut kept = Vec::new();
        for op in batch.operations.iter().filter(|o| o.op == BatchOp::Delete) {
            let Some(record) = self.provider.record(&op.entity, &op.id).await? else {
                continue;
            };
            kept.push(NewQuarantine {
                job_id: report.job_id().to_owned(),
                org_id: self.org_id,
                entity: op.entity.clone(),
                record_id: op.id.clone(),
                side: quarantine::SERVER,
                action: quarantine::DELETED,
                attributes: Json::new(record.attributes),
                version: record.version,
                created_on: now,
            });
        }
        if kept.is_empty() {
            return Ok(());
        }
        let n = kept.len() as u64;
        self.engine
            .db
            .run(move |conn| quarantine::keep(conn, &kept))
            .await?;
        self.engine.metrics.quarantined.inc_by(n);
        Ok(())
    }
}
