//! The change feed an org serves (what the orgsync provider reads from a server org): each
//! record changed since a token once, at its latest version, in version order, deletions
//! included, optionally through sync filters.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::value::RawValue;
use serde_json::Value;

use super::{Engine, EngineError};
use crate::db::records::{stored_attributes, RecordRow};
use crate::db::{changes, metadata, micros_to_datetime, orgs, DbError};
use crate::domain::error::{Code, Refusal};
use crate::domain::filter::{SyncFilters, ValidFilters};
use crate::wire::changes::{Change, ChangeOp, ChangePage, ChangesRequest};

pub const DEFAULT_LIMIT: u32 = 1000;
pub const MAX_LIMIT: u32 = 10_000;

fn token_expired(detail: String) -> Refusal {
    Refusal::new(Code::TokenExpired, detail).field("Since")
}

impl Engine {
    /// A page of `org`'s changes as `req` asks. With filters, a changed record that does not
    /// match comes back as `Delete` with `Reason: OutOfScope` (unless the reader cannot hold
    /// it: it was created after `Since`). A `Since` older than the tombstone horizon is
    /// refused as `token_expired`: read again from scratch.
    pub async fn changes(&self, org: &str, req: ChangesRequest) -> Result<ChangePage, EngineError> {
        let since = match req.since.as_deref().map(str::trim) {
            None | Some("") => 0,
            Some(t) => t.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
                Refusal::new(
                    Code::InvalidToken,
                    "Since must be a token this service gave",
                )
                .field("Since")
            })?,
        };
        let limit = match req.limit {
            None => DEFAULT_LIMIT,
            Some(n @ 1..=MAX_LIMIT) => n,
            Some(n) => {
                return Err(Refusal::new(
                    Code::InvalidLimit,
                    format!("Limit must be 1 to {MAX_LIMIT}, not {n}"),
                )
                .field("Limit")
                .into())
            }
        };
        let filters = match (req.sync_filters_xml, req.sync_filters) {
            (Some(_), Some(_)) => {
                return Err(Refusal::new(
                    Code::InvalidFilter,
                    "give SyncFiltersXml or SyncFilters, not both",
                )
                .field("SyncFilters")
                .into())
            }
            (Some(xml), None) => Some(SyncFilters::parse_xml(&xml)),
            (None, Some(json)) => Some(SyncFilters::from_json(&json)),
            (None, None) => None,
        }
        .transpose()
        .map_err(Refusal::from)?;
        let (org_name, entities) = (org.to_owned(), req.entities);
        let max_bytes = self.settings.page_bytes;
        self.db
            .run(move |conn| {
                let org = orgs::require(conn, &org_name)?;
                if since > 0 && since < org.purged_version {
                    return Err(token_expired(format!(
                        "token {since} predates the tombstone horizon {}; read again without Since",
                        org.purged_version
                    ))
                    .into());
                }
                if since > org.last_version {
                    return Err(token_expired(format!(
                        "token {since} is not one of this org's; read again without Since"
                    ))
                    .into());
                }
                let defs: HashMap<String, _> = metadata::entities(conn, org.id)?
                    .into_iter()
                    .map(|d| (d.name.to_string(), d))
                    .collect();
                if let Some(unknown) = entities.iter().flatten().find(|e| !defs.contains_key(*e)) {
                    return Err(Refusal::new(
                        Code::EntityNotFound,
                        format!("entity '{unknown}' is not defined"),
                    )
                    .with("entity", unknown.as_str())
                    .named_in_body()
                    .into());
                }
                let filters = filters
                    .map(|f| f.validate(&|name| defs.get(name)))
                    .transpose()
                    .map_err(Refusal::from)?;
                let (rows, more) = changes::since_bounded(
                    conn,
                    org.id,
                    since,
                    entities.as_deref(),
                    since == 0,
                    limit as usize,
                    max_bytes,
                )?;
                Ok(page_of(
                    rows,
                    more,
                    since,
                    org.last_version,
                    filters.as_ref(),
                )?)
            })
            .await
    }
}

/// A record's attributes as a sync filter reads them: its own, with `createdon` and
/// `modifiedon`.
pub(crate) fn with_stamps(
    mut attributes: serde_json::Map<String, Value>,
    created_on: DateTime<Utc>,
    modified_on: DateTime<Utc>,
) -> serde_json::Map<String, Value> {
    let stamp = |at: DateTime<Utc>| Value::String(at.to_rfc3339_opts(SecondsFormat::AutoSi, true));
    attributes.insert("createdon".to_owned(), stamp(created_on));
    attributes.insert("modifiedon".to_owned(), stamp(modified_on));
    attributes
}

/// A stored record's attributes as a sync filter reads them.
pub(super) fn filterable(row: &RecordRow) -> Result<serde_json::Map<String, Value>, DbError> {
    Ok(with_stamps(
        stored_attributes(row)?,
        micros_to_datetime(row.created_on),
        micros_to_datetime(row.modified_on),
    ))
}

/// Turns rows (version order; `more` when the page ended before the feed did) into the
/// page. The org's last version was read before the rows, so every version up to it is
/// visible to the row query: a page that reaches the end may move `Next` up to it.
fn page_of(
    rows: Vec<RecordRow>,
    more: bool,
    since: i64,
    last_version: i64,
    filters: Option<&ValidFilters>,
) -> Result<ChangePage, DbError> {
    let next = match rows.last() {
        Some(r) if more => r.version,
        Some(r) => r.version.max(last_version),
        None => since.max(last_version),
    };
    let now = Utc::now();
    let mut changes = Vec::with_capacity(rows.len());
    for row in rows {
        // The reader cannot hold a record first created after its token.
        let reader_may_hold = row.created_version <= since;
        let delete = |reason: Option<&str>, row: &RecordRow| Change {
            entity: row.entity.clone(),
            id: row.id.clone(),
            op: ChangeOp::Delete,
            reason: reason.map(str::to_owned),
            version: row.version,
            modified_on: micros_to_datetime(row.modified_on),
            attributes: None,
        };
        if row.deleted {
            if reader_may_hold {
                changes.push(delete(None, &row));
            }
            continue;
        }
        if let Some(filters) = filters.filter(|f| f.filter_for(&row.entity).is_some()) {
            if !filters.matches(&row.entity, &filterable(&row)?, now) {
                if reader_may_hold {
                    changes.push(delete(Some("OutOfScope"), &row));
                }
                continue;
            }
        }
        let attributes = RawValue::from_string(row.attributes)
            .map_err(|e| DbError::Corrupt(format!("records ({}, {}): {e}", row.entity, row.id)))?;
        changes.push(Change {
            modified_on: micros_to_datetime(row.modified_on),
            version: row.version,
            op: ChangeOp::Upsert,
            reason: None,
            attributes: Some(attributes),
            entity: row.entity,
            id: row.id,
        });
    }
    Ok(ChangePage {
        changes,
        next: next.to_string(),
        more,
    })
}
