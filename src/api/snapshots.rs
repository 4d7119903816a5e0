//! Snapshots (NexJ's "Get snapshot" and "Send snapshot"): starting one, and the org's list.

use actix_web::{get, post, web};
use utoipa::OpenApi;

use super::body::{Body, Reply};
use super::connection::MANAGERS;
use super::jobs::{accepted, Job, JobAccepted, JobList};
use super::responses::{AdminWrite, ReadQuery};
use super::{split_page, OrgPath, PageQuery};
use crate::auth::Principal;
use crate::db::jobs::{self, JobFilter, JobRow};
use crate::domain::snapshot::{Recurrence, RecurrenceInclude, SnapshotDirection, SnapshotFilter};
use crate::error::{ApiError, Problem};
use crate::sync::snapshot::KINDS;
use crate::wire::sync::SnapshotRequest;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(start_snapshot, list_snapshots),
    components(schemas(SnapshotDirection, SnapshotFilter, Recurrence, RecurrenceInclude))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(start_snapshot).service(list_snapshots);
}

/// Starts a Get snapshot (server → client) or a Send snapshot (client → server), of every
/// link whose switch for that direction is on, or of the named ones; full, or filtered by
/// date. It overrides the other side's changes, through the delete guard, and keeps what it
/// deletes or overwrites in the job's quarantine. A snapshot already queued or running for
/// the org is returned instead (200).
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    request_body(content(
        (SnapshotRequest = "application/json", example = json!({"Direction": "Get", "Entities": ["task"], "Filters": {"task": {"DateOption": "scheduledend", "From": "2026-01-01T00:00:00Z", "To": "2026-03-31T23:59:59Z", "IncludeUndated": true}}})),
        (SnapshotRequest = "application/xml", example = json!("<SnapshotRequest><Direction>Send</Direction><Entities><Entity>appointment</Entity></Entities><Filters><Entity name=\"appointment\"><DateOption>scheduledstart</DateOption><From>2026-01-01</From><To>2026-03-31</To><Recurrence><Include>Recurring</Include><RecurringAttribute>isrecurring</RecurringAttribute><RecurrenceEndAttribute>recurrenceend</RecurrenceEndAttribute></Recurrence></Entity></Filters><DryRun>true</DryRun></SnapshotRequest>")),
    )),
    responses(
        (status = 200, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), description = "The snapshot already queued or running"),
        (status = 202, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The connection is not connected yet"),
        AdminWrite,
    ))]
#[post("/rest/v1/sync/{org}/snapshots")]
async fn start_snapshot(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<SnapshotRequest>,
) -> Result<Reply<JobAccepted>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let (job, new) = state
        .engine
        .snapshot_async(&path.org, body.into_inner(), &who.subject)
        .await?;
    Ok(accepted(&job, new))
}

/// The org's snapshot jobs, newest first.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath, PageQuery),
    responses(
        (status = 200, content((JobList = "application/json"), (JobList = "application/xml"))),
        ReadQuery,
    ))]
#[get("/rest/v1/sync/{org}/snapshots")]
async fn list_snapshots(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    query: web::Query<PageQuery>,
) -> Result<Reply<JobList>, ApiError> {
    who.can_see(&path.org)?;
    let page = query.into_inner();
    let (limit, before) = (page.limit()?, page.after()?);
    let org = path.into_inner().org;
    let rows = state
        .db
        .run(move |conn| {
            crate::db::orgs::require(conn, &org)?;
            let filter = JobFilter {
                org: Some(org),
                kinds: Some(KINDS.to_vec()),
                before,
                ..JobFilter::default()
            };
            jobs::list(conn, &filter, limit + 1)
        })
        .await?;
    let (rows, next) = split_page(rows, limit, |r: &JobRow| r.id.clone());
    let jobs = rows.into_iter().map(Job::from_row).collect();
    Ok(Reply::ok(JobList { jobs, next }))
}
