//! A dry run of a download: what it would create, update and delete, writing nothing.

use super::Download;
use crate::db::records::{self, WriteKind};
use crate::domain::setup::SyncMode;
use crate::sync::plan::{plan, Plan, Prepared};
use crate::sync::EngineError;
use crate::wire::changes::ChangeOp;

impl Download<'_> {
    /// A dry run's sweep: what a full read would remove (Mirror), skip, or keep as local-only.
    pub(super) async fn dry_sweep(&mut self) -> Result<(), EngineError> {
        let mut after: Option<String> = None;
        loop {
            let (org_id, entity, from) = (self.org_id, self.entity().to_owned(), after.clone());
            let rows = self
                .engine
                .db
                .run(move |conn| records::list(conn, org_id, &entity, from.as_deref(), 1000))
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id.clone());
            for row in rows {
                if self.dry_seen.contains(&row.id) {
                    continue;
                }
                let action = match (row.server_version, self.mode) {
                    (None, _) => "LocalOnly",
                    (Some(_), SyncMode::Additive) => "Skip",
                    (Some(_), SyncMode::Mirror) => {
                        self.dry_deletes += 1;
                        "Delete"
                    }
                };
                self.count(action, &row.id);
            }
        }
        Ok(())
    }

    /// What [`Self::apply`] would do, without writing.
    pub(super) async fn dry_apply(
        &mut self,
        changes: Vec<Prepared>,
        next: Option<String>,
        full: bool,
    ) -> Result<(), EngineError> {
        if let Some(token) = next {
            if full {
                self.link.full_token = Some(token);
            } else {
                self.link.checkpoint = Some(token);
            }
        }
        let (org_id, def, mode) = (self.org_id, self.def.clone(), self.mode);
        let keys: Vec<String> = changes.iter().map(|c| c.id.clone()).collect();
        let entity = def.name.to_string();
        let current = self
            .engine
            .db
            .run(move |conn| {
                records::load_many(
                    conn,
                    org_id,
                    keys.iter().map(|id| (entity.as_str(), id.as_str())),
                )
            })
            .await?;
        for change in changes {
            let id = change.id.clone();
            if full && change.op == ChangeOp::Upsert {
                self.dry_seen.insert(id.clone());
            }
            let action = match plan(&def, mode, change, &current) {
                Plan::Write(op) => {
                    match (op.kind, current.get(&(def.name.to_string(), id.clone()))) {
                        (WriteKind::Delete, _) => "Delete",
                        (_, Some(row)) if !row.deleted => "Update",
                        _ => "Create",
                    }
                }
                Plan::Delete(_) => {
                    self.dry_deletes += 1;
                    "Delete"
                }
                Plan::LocalOnly => "LocalOnly",
                Plan::Unchanged | Plan::Adopted => "Unchanged",
                Plan::Skip(_) => "Skip",
                Plan::Fail(_) => "Fail",
            };
            self.count(action, &id);
        }
        Ok(())
    }
}
