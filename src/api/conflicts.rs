//! Conflicts the Manual policy parked, and their resolution.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::connection::MANAGERS;
use super::responses::{AdminReadQuery, AdminWrite};
use super::transactions::TxPath;
use super::{split_page, OrgPath, PageQuery};
use crate::auth::Principal;
use crate::db::conflicts::{self, ConflictRow};
use crate::db::{micros_to_datetime, orgs};
use crate::domain::transaction::{ConflictStatus, Take};
use crate::error::{ApiError, Problem};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list_conflicts, resolve_conflict),
    components(schemas(ConflictStatus, Take))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_conflicts).service(resolve_conflict);
}

/// A conflict on the wire: both versions of the record.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Conflict {
    pub conflict_id: String,
    pub transaction_id: String,
    pub entity: String,
    pub record_id: String,
    /// The attributes the client changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub client_attributes: Option<Value>,
    /// The server's record when the conflict was found (absent: the server deleted it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub server_record: Option<Value>,
    pub status: ConflictStatus,
    /// The side taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Take>,
    pub created_on: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_on: Option<DateTime<Utc>>,
}

impl From<ConflictRow> for Conflict {
    fn from(row: ConflictRow) -> Self {
        Self {
            client_attributes: row.client_attributes.map(|a| Value::Object(a.into_inner())),
            server_record: row.server_record.map(|r| r.into_inner()),
            conflict_id: row.id,
            transaction_id: row.transaction_id,
            entity: row.entity,
            record_id: row.record_id,
            status: row.status,
            resolution: row.resolution,
            created_on: micros_to_datetime(row.created_on),
            resolved_on: row.resolved_on.map(micros_to_datetime),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ConflictList {
    pub conflicts: Vec<Conflict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    /// Resolved ones too (open ones only when absent).
    pub all: Option<bool>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `Next` of the previous page.
    #[param(
        pattern = "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$",
        max_length = 1024
    )]
    pub cursor: Option<String>,
}

/// Conflicts parked by the Manual policy.
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(OrgPath, ConflictQuery),
    responses(
        (status = 200, content((ConflictList = "application/json"), (ConflictList = "application/xml"))),
        AdminReadQuery,
    ))]
#[get("/rest/v1/sync/{org}/conflicts")]
async fn list_conflicts(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    query: web::Query<ConflictQuery>,
) -> Result<Reply<ConflictList>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (limit, after) = (page.limit()?, page.after()?);
    let open_only = !query.all.unwrap_or(false);
    let org = path.into_inner().org;
    let rows = state
        .db
        .run(move |conn| {
            let org_id = orgs::require(conn, &org)?.id;
            conflicts::list(conn, org_id, open_only, after.as_deref(), limit + 1)
        })
        .await?;
    let (rows, next) = split_page(rows, limit, |r: &ConflictRow| r.id.clone());
    Ok(Reply::ok(ConflictList {
        conflicts: rows.into_iter().map(Conflict::from).collect(),
        next,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Resolve {
    pub take: Take,
    /// With `Take: Client`, values that replace the client's before its record is sent: the
    /// fields an admin chose to take from the server (a null clears one).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Settles a conflict: `Server` archives the client's change and brings the server's record;
/// `Client` sends the client's record (at once when writes are not offline), with the
/// `Attributes` given taking the place of the client's values field by field.
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(TxPath),
    request_body(content(
        (Resolve = "application/json", example = json!({"Take": "Client", "Attributes": {"name": "Fabrikam"}})),
        (Resolve = "application/xml", example = json!("<Resolve><Take>Server</Take></Resolve>")),
    )),
    responses(
        (status = 200, content((Conflict = "application/json"), (Conflict = "application/xml"))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already resolved"),
        (status = 502, body = Problem, content_type = "application/problem+json", description = "The server could not be reached to read its record"),
        AdminWrite,
    ))]
#[post("/rest/v1/sync/{org}/conflicts/{id}/Resolve")]
async fn resolve_conflict(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<TxPath>,
    body: Body<Resolve>,
) -> Result<Reply<Conflict>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let Resolve { take, attributes } = body.into_inner();
    let row = state
        .engine
        .resolve_conflict(&path.org, &path.id, take, attributes)
        .await?;
    Ok(Reply::ok(row.into()))
}
