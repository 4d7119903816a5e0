//! What a job deleted or overwrote (its quarantine) and `UndoDeletes`, which restores it.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::body::{OptionalBody, Reply};
use super::jobs::{position_page, position_query, visible, JobPath};
use super::responses::{AdminWrite, ReadQuery};
use crate::auth::{Principal, Role};
use crate::db::micros_to_datetime;
use crate::db::quarantine::{self as kept, QuarantineRow};
use crate::error::{ApiError, Problem};
use crate::AppState;

/// A record a job deleted or overwrote, as it was before.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct QuarantineItem {
    #[schema(example = "account")]
    pub entity: String,
    pub id: String,
    /// Where the job deleted it: `Client` or `Server`.
    #[schema(example = "Client")]
    pub side: String,
    /// `Deleted`, or `Overwritten` (an existing client record adopted by MatchOn).
    #[schema(example = "Deleted")]
    pub action: String,
    /// The record's attributes before the job changed it.
    #[schema(value_type = Object)]
    pub attributes: serde_json::Map<String, serde_json::Value>,
    /// The record's version on its side before the job changed it.
    pub version: i64,
    /// When `UndoDeletes` restored it (it is never restored twice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_on: Option<DateTime<Utc>>,
}

impl From<QuarantineRow> for QuarantineItem {
    fn from(row: QuarantineRow) -> Self {
        Self {
            entity: row.entity,
            id: row.record_id,
            side: row.side,
            action: row.action,
            attributes: row.attributes.into_inner(),
            version: row.version,
            restored_on: row.restored_on.map(micros_to_datetime),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Quarantine {
    pub items: Vec<QuarantineItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QuarantineQuery {
    /// Only this entity's records.
    pub entity: Option<String>,
    /// 1 to 1000 (100 when absent).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `Next` of the previous page.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// What the job deleted or overwrote, on either side, with the prior state, in the order it
/// was kept.
#[utoipa::path(tag = "Jobs", security(("bearer" = [])), params(JobPath, QuarantineQuery),
    responses(
        (status = 200, content(
            (Quarantine = "application/json", example = json!({"Items": [{"Entity": "account", "Id": "a-17", "Side": "Client", "Action": "Deleted", "Attributes": {"name": "Contoso"}, "Version": 42}], "Next": "42"})),
            (Quarantine = "application/xml", example = json!("<Quarantine><Items><Entity>account</Entity><Id>a-17</Id><Side>Client</Side><Action>Deleted</Action><Attributes><name>Contoso</name></Attributes><Version>42</Version></Items><Next>42</Next></Quarantine>")),
        )),
        ReadQuery,
    ))]
#[get("/rest/v1/jobs/{id}/quarantine")]
pub(super) async fn quarantine(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<JobPath>,
    query: web::Query<QuarantineQuery>,
) -> Result<Reply<Quarantine>, ApiError> {
    let job = visible(&state, &who, path.into_inner().id).await?;
    let query = query.into_inner();
    let (limit, after) = position_query(query.limit, query.cursor.as_deref())?;
    let entity = query.entity;
    let rows = state
        .db
        .run(move |conn| kept::list(conn, &job.id, entity.as_deref(), after, limit + 1))
        .await?;
    let (rows, next) = position_page(rows, limit, |r: &QuarantineRow| r.id);
    Ok(Reply::ok(Quarantine {
        items: rows.into_iter().map(QuarantineItem::from).collect(),
        next,
    }))
}

/// Which deletions to undo.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UndoRequest {
    /// The records' ids; absent: every deletion of the job not restored yet.
    #[schema(max_items = 1000)]
    pub ids: Option<Vec<String>>,
}

/// What an `UndoDeletes` call did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UndoResult {
    /// Records written back on the side where the job deleted them.
    pub restored: u64,
    /// Not restored: a record with the id exists there again, or the side refused the write
    /// (the job's log says which and why).
    pub skipped: u64,
}

/// Restores what the job deleted, on the side where it deleted it, as an ordinary write
/// there (with the same `Id`), so the next sync carries it on. A restored record is marked in
/// the quarantine and never restored twice.
#[utoipa::path(tag = "Jobs", security(("bearer" = [])), params(JobPath),
    request_body(content(
        (Option<UndoRequest> = "application/json", example = json!({"Ids": ["a-17"]})),
        (Option<UndoRequest> = "application/xml", example = json!("<UndoDeletes><Ids><Id>a-17</Id></Ids></UndoDeletes>")),
    ), description = "Optional: every deletion of the job not restored yet when absent"),
    responses(
        (status = 200, content(
            (UndoResult = "application/json", example = json!({"Restored": 1, "Skipped": 0})),
            (UndoResult = "application/xml", example = json!("<UndoResult><Restored>1</Restored><Skipped>0</Skipped></UndoResult>")),
        )),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The job is still queued or running (`job_running`)"),
        AdminWrite,
    ))]
#[post("/rest/v1/jobs/{id}/UndoDeletes")]
pub(super) async fn undo_deletes(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<JobPath>,
    body: OptionalBody<UndoRequest>,
) -> Result<Reply<UndoResult>, ApiError> {
    let job = visible(&state, &who, path.into_inner().id).await?;
    who.require_role(&[Role::Provider, Role::OrgAdmin])?;
    let ids = body.0.into_inner().ids;
    if ids.as_ref().is_some_and(|i| i.len() > 1000) {
        return Err(ApiError::new(
            crate::domain::error::Code::InvalidField,
            "Ids names at most 1000 records per call",
        )
        .field("Ids"));
    }
    let undone = state.engine.undo_deletes(&job, ids).await?;
    Ok(Reply::ok(UndoResult {
        restored: undone.restored,
        skipped: undone.skipped,
    }))
}
