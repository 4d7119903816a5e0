//! A record's timeline: every event of one record across both directions, oldest first.

use actix_web::{get, web};
use utoipa::OpenApi;

use super::body::Reply;
use super::responses::Read;
use super::RecordPath;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::wire::timeline::{Timeline, TimelineEvent};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(paths(record_timeline), components(schemas(Timeline, TimelineEvent)))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(record_timeline);
}

/// Every event of one record of the client org, oldest first: its client writes and their
/// transactions (status, tries, error, resolution), each entry of a job's log that names it
/// (a server version applied, a skip, a delivery, a conflict, a delete…, with the job), its
/// conflicts and their resolution, and what the quarantine kept of it and restored.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(RecordPath),
    responses(
        (status = 200, content((Timeline = "application/json"), (Timeline = "application/xml"))),
        Read,
    ))]
#[get("/rest/v1/sync/{org}/timeline/{entity}/{id}")]
async fn record_timeline(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<RecordPath>,
) -> Result<Reply<Timeline>, ApiError> {
    who.can_see(&path.org)?;
    let timeline = state
        .engine
        .timeline(&path.org, &path.entity, &path.id)
        .await?;
    Ok(Reply::ok(timeline))
}
