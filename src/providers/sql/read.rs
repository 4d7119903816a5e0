//! The sql provider's reads: a full read's pages in key order, and the change log's pages of
//! incremental changes, each record in the state it has now, through the link's filter.

use chrono::Utc;
use serde_json::{Map, Value};

use super::capture::Position;
use super::pushdown;
use super::store::{failed, Shape, Store};
use super::values::{key_object, record_of, version_of};
use super::FULL;
use crate::domain::error::Code;
use crate::domain::filter::{SyncFilters, ValidFilters};
use crate::domain::metadata::EntityDef;
use crate::providers::{ProviderError, RemoteChange, RemoteChanges};
use crate::wire::changes::ChangeOp;

/// The filter of one entity, typed by its definition.
pub(super) fn filter_of(
    filters: Option<&Value>,
    def: &EntityDef,
) -> Result<Option<ValidFilters>, ProviderError> {
    let Some(json) = filters else {
        return Ok(None);
    };
    let refused = |e: crate::domain::filter::FilterError| ProviderError::Rejected {
        code: Code::InvalidFilter.as_str().to_owned(),
        message: e.to_string(),
    };
    let filters = SyncFilters::from_json(json).map_err(refused)?;
    filters.validate_for(def).map(Some).map_err(refused)
}

fn upsert(entity: &str, id: String, attributes: Map<String, Value>) -> RemoteChange {
    RemoteChange {
        entity: entity.to_owned(),
        id,
        op: ChangeOp::Upsert,
        reason: None,
        version: version_of(&attributes),
        modified_on: Utc::now(),
        attributes: Some(attributes),
    }
}

fn delete(entity: &str, id: String, reason: Option<&str>) -> RemoteChange {
    RemoteChange {
        entity: entity.to_owned(),
        id,
        op: ChangeOp::Delete,
        reason: reason.map(str::to_owned),
        version: 0,
        modified_on: Utc::now(),
        attributes: None,
    }
}

pub(super) fn corrupt(message: String) -> ProviderError {
    ProviderError::Rejected {
        code: "database_error".to_owned(),
        message,
    }
}

/// A page of a full read: rows after the token's key, in key order.
pub(super) fn full_page(
    store: &mut Store,
    def: &EntityDef,
    shape: &Shape,
    filters: Option<&ValidFilters>,
    start: Position,
    after: Option<&str>,
    limit: u32,
) -> Result<RemoteChanges, ProviderError> {
    let condition = filters
        .and_then(|f| f.filter_for(def.name.as_str()))
        .and_then(|f| pushdown::condition(f, def, store.dialect()));
    let rows = store
        .page(shape, after, condition.as_deref(), i64::from(limit))
        .map_err(failed)?;
    let more = rows.len() == limit as usize;
    let now = Utc::now();
    let mut changes = Vec::with_capacity(rows.len());
    let mut last = None;
    for text in rows {
        let (id, attributes) = record_of(def, shape, &text).map_err(corrupt)?;
        last = Some(id.clone());
        if filters.is_some_and(|f| !f.matches(def.name.as_str(), &attributes, now)) {
            continue;
        }
        changes.push(upsert(def.name.as_str(), id, attributes));
    }
    let next = match last {
        Some(id) if more => format!(
            "{FULL}{}:{}",
            start.token(),
            Value::Object(key_object(shape, &id))
        ),
        _ => start.token(),
    };
    Ok(RemoteChanges {
        changes,
        next,
        more,
    })
}

/// A page of incremental changes: the change log after `after`, each record once, in the
/// state it has now.
#[allow(clippy::too_many_arguments)]
pub(super) fn incremental_page(
    store: &mut Store,
    def: &EntityDef,
    shape: &Shape,
    filters: Option<&ValidFilters>,
    reader: &str,
    after: Position,
    limit: u32,
) -> Result<RemoteChanges, ProviderError> {
    if after < store.horizon().map_err(failed)? {
        return Err(ProviderError::TokenExpired);
    }
    let (logged, end) = store
        .changes(&shape.table, reader, after, i64::from(limit))
        .map_err(failed)?;
    let more = logged.len() == limit as usize;
    // Each record once, where it last changed.
    let mut seen = std::collections::HashSet::new();
    let mut ids: Vec<String> = Vec::new();
    for change in logged.into_iter().rev() {
        if seen.insert(change.record_id.clone()) {
            ids.push(change.record_id);
        }
    }
    ids.reverse();
    let keys = Value::Array(
        ids.iter()
            .map(|id| Value::Object(key_object(shape, id)))
            .collect(),
    )
    .to_string();
    let mut rows = std::collections::HashMap::new();
    for text in store.rows(shape, &keys).map_err(failed)? {
        let (id, attributes) = record_of(def, shape, &text).map_err(corrupt)?;
        rows.insert(id, attributes);
    }
    let now = Utc::now();
    let entity = def.name.as_str();
    let changes = ids
        .into_iter()
        .map(|id| match rows.remove(&id) {
            None => delete(entity, id, None),
            Some(a) if filters.is_some_and(|f| !f.matches(entity, &a, now)) => {
                delete(entity, id, Some("OutOfScope"))
            }
            Some(a) => upsert(entity, id, a),
        })
        .collect();
    Ok(RemoteChanges {
        changes,
        next: end.token(),
        more,
    })
}
