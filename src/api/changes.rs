//! The change feed of an org: what changed since a token, in version order, deletions
//! included, optionally through sync filters.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{post, web};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::OrgPath;
use crate::auth::Principal;
use crate::db::records::{stored_attributes, RecordRow};
use crate::db::{changes, metadata, micros_to_datetime, orgs};
use crate::domain::filter::{SyncFilters, ValidFilters};
use crate::error::{ApiError, Problem};
use crate::AppState;

pub const DEFAULT_LIMIT: u32 = 1000;
pub const MAX_LIMIT: u32 = 10_000;

#[derive(OpenApi)]
#[openapi(paths(read_changes), tags((name = "Changes", description = "The change feed")))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(read_changes);
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChangesRequest {
    /// The `Next` of an earlier read; absent: every live record.
    #[serde(default)]
    pub since: Option<String>,
    /// Only these entities.
    #[serde(default)]
    pub entities: Option<Vec<String>>,
    /// Filters as a `<SyncFilters>` document (escaped text or CDATA in XML).
    #[serde(default)]
    pub sync_filters_xml: Option<String>,
    /// The same filters in their JSON form, by entity.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sync_filters: Option<Value>,
    /// Changes per page, 1 to 10000 (1000 when absent).
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ChangeOp {
    Upsert,
    Delete,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    pub entity: String,
    pub id: String,
    pub op: ChangeOp,
    /// `OutOfScope` when a record is reported deleted because it no longer matches the filters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub version: i64,
    pub modified_on: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Box<RawValue>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ChangePage {
    pub changes: Vec<Change>,
    /// The token to read on from.
    pub next: String,
    /// True when more changes wait past `Next`.
    pub more: bool,
}

fn token_expired(detail: String) -> ApiError {
    ApiError::new(StatusCode::GONE, "token_expired", detail).with("field", "Since")
}

/// Each record changed since `Since` once, at its latest version, in version order; a deleted
/// one as `Delete`. With filters, a changed record that does not match comes back as `Delete`
/// with `Reason: OutOfScope` (unless the reader cannot hold it: it was created after `Since`).
/// A `Since` older than the tombstone horizon is 410 `token_expired`: read again from scratch.
#[utoipa::path(tag = "Changes", security(("bearer" = [])), params(OrgPath),
    request_body(content((ChangesRequest = "application/json"), (ChangesRequest = "application/xml"))),
    responses(
        (status = 200, content((ChangePage = "application/json"), (ChangePage = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 410, body = Problem, content_type = "application/problem+json", description = "token_expired: Since predates the tombstone horizon"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Bad token, entity or filter (naming entity, attribute and operator)"),
    ))]
#[post("/rest/v1/orgs/{org}/changes")]
async fn read_changes(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<ChangesRequest>,
) -> Result<Reply<ChangePage>, ApiError> {
    who.can_see(&path.org)?;
    let req = body.into_inner();
    let since = match req.since.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(t) => t.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
            ApiError::unprocessable("invalid_token", "Since must be a token this service gave")
                .with("field", "Since")
        })?,
    };
    let limit = match req.limit {
        None => DEFAULT_LIMIT,
        Some(n @ 1..=MAX_LIMIT) => n,
        Some(n) => {
            return Err(ApiError::unprocessable(
                "invalid_limit",
                format!("Limit must be 1 to {MAX_LIMIT}, not {n}"),
            )
            .with("field", "Limit"))
        }
    };
    let filters = match (req.sync_filters_xml, req.sync_filters) {
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable(
                "invalid_filter",
                "give SyncFiltersXml or SyncFilters, not both",
            )
            .with("field", "SyncFilters"))
        }
        (Some(xml), None) => Some(SyncFilters::parse_xml(&xml)),
        (None, Some(json)) => Some(SyncFilters::from_json(&json)),
        (None, None) => None,
    }
    .transpose()
    .map_err(ApiError::from)?;
    let org_name = path.into_inner().org;
    let entities = req.entities;
    let page = state
        .db
        .run(move |conn| {
            let org = orgs::require(conn, &org_name)?;
            if since > 0 && since < org.purged_version {
                return Err(token_expired(format!(
                    "token {since} predates the tombstone horizon {}; read again without Since",
                    org.purged_version
                )));
            }
            if since > org.last_version {
                return Err(token_expired(format!(
                    "token {since} is not one of this org's; read again without Since"
                )));
            }
            let defs: HashMap<String, _> = metadata::entities(conn, org.id)?
                .into_iter()
                .map(|d| (d.name.to_string(), d))
                .collect();
            if let Some(unknown) = entities.iter().flatten().find(|e| !defs.contains_key(*e)) {
                return Err(ApiError::unprocessable(
                    "entity_not_found",
                    format!("entity '{unknown}' is not defined"),
                )
                .with("entity", unknown.as_str()));
            }
            let filters = filters
                .map(|f| f.validate(&|name| defs.get(name)))
                .transpose()
                .map_err(ApiError::from)?;
            let rows = changes::since(
                conn,
                org.id,
                since,
                entities.as_deref(),
                since == 0,
                i64::from(limit) + 1,
            )?;
            page_of(
                rows,
                since,
                org.last_version,
                limit as usize,
                filters.as_ref(),
            )
        })
        .await?;
    Ok(Reply::ok(page))
}

/// Turns rows (version order, one past the page when there are more) into the page. The org's
/// last version was read before the rows, so every version up to it is visible to the row
/// query: a page that reaches the end may move `Next` up to it.
fn page_of(
    mut rows: Vec<RecordRow>,
    since: i64,
    last_version: i64,
    limit: usize,
    filters: Option<&ValidFilters>,
) -> Result<ChangePage, ApiError> {
    let more = rows.len() > limit;
    rows.truncate(limit);
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
            let mut attributes = stored_attributes(&row)?;
            let stamp = |micros| {
                Value::String(
                    micros_to_datetime(micros).to_rfc3339_opts(SecondsFormat::AutoSi, true),
                )
            };
            attributes.insert("createdon".to_owned(), stamp(row.created_on));
            attributes.insert("modifiedon".to_owned(), stamp(row.modified_on));
            if !filters.matches(&row.entity, &attributes, now) {
                if reader_may_hold {
                    changes.push(delete(Some("OutOfScope"), &row));
                }
                continue;
            }
        }
        changes.push(Change {
            modified_on: micros_to_datetime(row.modified_on),
            version: row.version,
            op: ChangeOp::Upsert,
            reason: None,
            attributes: Some(RawValue::from_string(row.attributes).map_err(ApiError::internal)?),
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
