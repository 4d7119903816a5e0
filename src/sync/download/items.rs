//! Per-item sync: named records as the server has them now, through the link's filter.

use serde_json::Value;

use super::Download;
use crate::domain::error::Refusal;
use crate::domain::filter::{SyncFilters, ValidFilters};
use crate::providers::RemoteChange;
use crate::sync::EngineError;
use crate::wire::changes::ChangeOp;

impl Download<'_> {
    /// Per-item sync: each named record as the server has it now, through the link's filter.
    pub async fn items(&mut self, ids: &[String]) -> Result<(), EngineError> {
        let filters = self.typed_filters()?;
        for chunk in ids.chunks(100) {
            let mut changes = Vec::with_capacity(chunk.len());
            for id in chunk {
                let record = self.provider.record(self.entity(), id).await?;
                let change = match record {
                    Some(r) => {
                        let mut view = r.attributes.clone();
                        view.insert(
                            "createdon".to_owned(),
                            Value::String(r.created_on.to_rfc3339()),
                        );
                        view.insert(
                            "modifiedon".to_owned(),
                            Value::String(r.modified_on.to_rfc3339()),
                        );
                        let in_scope = filters
                            .as_ref()
                            .is_none_or(|f| f.matches(self.entity(), &view, chrono::Utc::now()));
                        RemoteChange {
                            entity: r.entity,
                            id: r.id,
                            op: if in_scope {
                                ChangeOp::Upsert
                            } else {
                                ChangeOp::Delete
                            },
                            reason: (!in_scope).then(|| "OutOfScope".to_owned()),
                            version: r.version,
                            modified_on: r.modified_on,
                            attributes: in_scope.then_some(r.attributes),
                        }
                    }
                    None => RemoteChange {
                        entity: self.entity().to_owned(),
                        id: id.clone(),
                        op: ChangeOp::Delete,
                        reason: Some("NotOnServer".to_owned()),
                        version: 0,
                        modified_on: chrono::Utc::now(),
                        attributes: None,
                    },
                };
                changes.push(change);
            }
            self.ctx.checkpoint().await?;
            let changes = self.prepared(changes);
            self.apply(changes, None, false).await?;
        }
        self.finish_deletes().await
    }

    pub(super) fn typed_filters(&self) -> Result<Option<ValidFilters>, Refusal> {
        let Some(json) = &self.filter_json else {
            return Ok(None);
        };
        let parsed = SyncFilters::from_json(json)?;
        Ok(Some(parsed.validate(&|name| {
            (name == self.def.name.as_str()).then_some(self.def)
        })?))
    }
}
