//! Starting work on a connection: SyncAsync, SyncAllAsync, UpdateMetadataAsync.

use actix_web::http::StatusCode;
use actix_web::{post, web};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::body::{OptionalBody, Reply};
use super::connection::MANAGERS;
use super::jobs::{accepted, JobAccepted};
use super::responses::{AdminAction, AdminWrite, ProviderAction};
use super::OrgPath;
use crate::auth::{Principal, Role};
use crate::error::{ApiError, Problem};
use crate::wire::sync::{Direction, SyncRequest};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(sync_async, sync_all_async, update_metadata_async),
    components(schemas(Direction))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(sync_all_async)
        .service(sync_async)
        .service(update_metadata_async);
}

/// Syncs the client org with its server org: pending client writes up, then the server's
/// changes down. A sync already queued or running for the org is returned instead (200).
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    request_body(content(
        (Option<SyncRequest> = "application/json", example = json!({"Entities": ["account", "contact"], "Direction": "Both", "Full": false})),
        (Option<SyncRequest> = "application/xml", example = json!("<SyncRequest><Entities><Entity>account</Entity><Entity>contact</Entity></Entities><Direction>Both</Direction><Full>false</Full></SyncRequest>")),
    ), description = "Optional: a sync of every inbound link when absent"),
    responses(
        (status = 200, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), description = "The sync already queued or running"),
        (status = 202, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The connection is not connected yet"),
        AdminWrite,
    ))]
#[post("/rest/v1/sync/{org}/SyncAsync")]
async fn sync_async(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: OptionalBody<SyncRequest>,
) -> Result<Reply<JobAccepted>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let request = body.0.into_inner();
    let (job, new) = state
        .engine
        .sync_async(&path.org, request, &who.subject)
        .await?;
    Ok(accepted(&job, new))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct JobsAccepted {
    pub jobs: Vec<JobAccepted>,
}

/// One sync job per connected org (an org's sync already queued or running is reused).
#[utoipa::path(tag = "Sync", security(("bearer" = [])),
    responses(
        (status = 202, content((JobsAccepted = "application/json"), (JobsAccepted = "application/xml"))),
        ProviderAction,
    ))]
#[post("/rest/v1/sync/SyncAllAsync")]
async fn sync_all_async(
    who: Principal,
    state: web::Data<AppState>,
) -> Result<Reply<JobsAccepted>, ApiError> {
    who.require_role(&[Role::Provider])?;
    let jobs = state.engine.sync_all(&who.subject).await?;
    let jobs = jobs.iter().map(JobAccepted::of).collect();
    Ok(Reply::ok(JobsAccepted { jobs }).status(StatusCode::ACCEPTED))
}

/// Brings the server's metadata to the client ("update client"); the server always wins.
/// A job already queued or running for the org is returned instead (200).
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), description = "The job already queued or running"),
        (status = 202, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The connection is not connected yet"),
        AdminAction,
    ))]
#[post("/rest/v1/sync/{org}/UpdateMetadataAsync")]
async fn update_metadata_async(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<JobAccepted>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let (job, new) = state
        .engine
        .update_metadata_async(&path.org, &who.subject)
        .await?;
    Ok(accepted(&job, new))
}
