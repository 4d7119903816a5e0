//! Jobs: list, read, log, and Run / ResetTries / Cancel.

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::body::Reply;
use super::responses::{AdminAction, ListQuery, Read, ReadQuery};
use super::{invalid_cursor, split_page, PageQuery};
use crate::auth::{Principal, Role};
use crate::db::job_log::{self as log_rows, LogFilter, LogRow};
use crate::db::jobs::{self, JobFilter, JobRow};
use crate::db::{micros_to_datetime, DbConn, DbResult, Json};
use crate::domain::error::job_not_found;
use crate::domain::jobs::{
    EntitySummary, JobError, JobKind, JobStatus, LogLevel, Progress, Summary,
};
use crate::error::{ApiError, Problem};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_jobs,
        get_job,
        job_log,
        run_job,
        reset_tries,
        cancel_job,
        approve_job,
        super::quarantine::quarantine,
        super::quarantine::undo_deletes
    ),
    components(schemas(
        JobKind,
        JobStatus,
        LogLevel,
        Progress,
        JobError,
        EntitySummary,
        super::quarantine::QuarantineItem
    )),
    tags((name = "Jobs", description = "Background work and its log"))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_jobs)
        .service(get_job)
        .service(job_log)
        .service(run_job)
        .service(reset_tries)
        .service(cancel_job)
        .service(approve_job)
        .service(super::quarantine::quarantine)
        .service(super::quarantine::undo_deletes);
}

/// A job on the wire.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Job {
    pub job_id: String,
    pub kind: JobKind,
    pub org: String,
    pub status: JobStatus,
    pub tries: i32,
    pub max_tries: i32,
    pub entered_on: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_tried_on: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_on: Option<DateTime<Utc>>,
    /// When a queued job becomes runnable (later than now while it backs off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_try_on: Option<DateTime<Utc>>,
    pub added_by: String,
    pub progress: Progress,
    /// Per entity: Created, Updated, Deleted, Skipped, Failed, Conflicts.
    #[schema(value_type = std::collections::HashMap<String, EntitySummary>)]
    pub summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
    /// A cancel was asked for; the job stops at its next batch boundary.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cancel_requested: bool,
    /// What the job was asked to do (a sync's `Full`, `DryRun`, `Entities`; a snapshot's
    /// request), when it was asked anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub request: Option<serde_json::Value>,
}

impl Job {
    pub fn from_row(row: JobRow) -> Self {
        let status = row.status;
        Self {
            progress: row.progress.into_inner(),
            summary: row.summary.into_inner(),
            error: row.error.map(Json::into_inner),
            next_try_on: (status == JobStatus::Queued).then(|| micros_to_datetime(row.run_after)),
            job_id: row.id,
            kind: row.kind,
            org: row.org_name,
            status,
            tries: row.tries,
            max_tries: row.max_tries,
            entered_on: micros_to_datetime(row.entered_on),
            last_tried_on: row.last_tried_on.map(micros_to_datetime),
            finished_on: row.finished_on.map(micros_to_datetime),
            added_by: row.added_by,
            cancel_requested: row.cancel_requested,
            request: Some(row.params.into_inner())
                .filter(|p| p.as_object().is_some_and(|o| !o.is_empty())),
        }
    }
}

/// The answer to a call that started background work.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct JobAccepted {
    pub job_id: String,
    pub status: JobStatus,
    /// Where to poll the job.
    pub location: String,
}

impl JobAccepted {
    pub fn of(row: &JobRow) -> Self {
        Self {
            job_id: row.id.clone(),
            status: row.status,
            location: format!("/rest/v1/jobs/{}", row.id),
        }
    }
}

/// The answer to a call that started background work: 202 with its `Location`, or 200 when
/// the job was already queued or running.
pub fn accepted(job: &JobRow, new: bool) -> Reply<JobAccepted> {
    let body = JobAccepted::of(job);
    let location = body.location.clone();
    let status = if new {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Reply::ok(body)
        .status(status)
        .header(header::LOCATION, location)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct JobList {
    pub jobs: Vec<Job>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct JobQuery {
    /// Only this org's jobs.
    pub org: Option<String>,
    pub status: Option<JobStatus>,
    pub kind: Option<JobKind>,
    /// 1 to 1000 (100 when absent).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `Next` of the previous page.
    #[param(
        pattern = "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$",
        max_length = 1024
    )]
    pub cursor: Option<String>,
}

/// Jobs, newest first: every org's for the provider, its own org's for an org role.
#[utoipa::path(tag = "Jobs", security(("bearer" = [])), params(JobQuery),
    responses(
        (status = 200, content((JobList = "application/json"), (JobList = "application/xml"))),
        ListQuery,
    ))]
#[get("/rest/v1/jobs")]
async fn list_jobs(
    who: Principal,
    state: web::Data<AppState>,
    query: web::Query<JobQuery>,
) -> Result<Reply<JobList>, ApiError> {
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (limit, before) = (page.limit()?, page.after()?);
    let org = match (&who.org, query.org) {
        (Some(own), Some(asked)) if asked != own.as_str() => {
            return Ok(Reply::ok(JobList {
                jobs: Vec::new(),
                next: None,
            }));
        }
        (Some(own), _) => Some(own.to_string()),
        (None, asked) => asked,
    };
    let filter = JobFilter {
        org,
        status: query.status,
        kind: query.kind,
        kinds: None,
        before,
    };
    let rows = state
        .db
        .run(move |conn| jobs::list(conn, &filter, limit + 1))
        .await?;
    let (rows, next) = split_page(rows, limit, |r: &JobRow| r.id.clone());
    let jobs = rows.into_iter().map(Job::from_row).collect();
    Ok(Reply::ok(JobList { jobs, next }))
}

/// `{id}` in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct JobPath {
    /// The job's id.
    pub id: String,
}

/// The job, when the caller may see it (an org role sees only its org's jobs).
pub(super) async fn visible(
    state: &AppState,
    who: &Principal,
    id: String,
) -> Result<JobRow, ApiError> {
    let job = state
        .db
        .run({
            let id = id.clone();
            move |conn| jobs::require(conn, &id)
        })
        .await?;
    who.can_see(&job.org_name)
        .map_err(|_| ApiError::from(job_not_found(&id)))?;
    Ok(job)
}

/// One job with its progress, summary and error.
#[utoipa::path(tag = "Jobs", security(("bearer" = [])), params(JobPath),
    responses(
        (status = 200, content((Job = "application/json"), (Job = "application/xml"))),
        Read,
    ))]
#[get("/rest/v1/jobs/{id}")]
async fn get_job(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<JobPath>,
) -> Result<Reply<Job>, ApiError> {
    let job = visible(&state, &who, path.into_inner().id).await?;
    Ok(Reply::ok(Job::from_row(job)))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LogEntry {
    pub at: DateTime<Utc>,
    pub level: LogLevel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    pub action: String,
    pub message: String,
}

impl From<LogRow> for LogEntry {
    fn from(row: LogRow) -> Self {
        Self {
            at: micros_to_datetime(row.at),
            level: row.level,
            entity: row.entity,
            record_id: row.record_id,
            action: row.action,
            message: row.message,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct JobLog {
    pub entries: Vec<LogEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    pub level: Option<LogLevel>,
    pub entity: Option<String>,
    pub record_id: Option<String>,
    /// 1 to 1000 (100 when absent).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `Next` of the previous page: the position in the log.
    #[param(pattern = "^[0-9]{1,18}$")]
    pub cursor: Option<String>,
}

/// The job's log in the order it was written.
#[utoipa::path(tag = "Jobs", security(("bearer" = [])), params(JobPath, LogQuery),
    responses(
        (status = 200, content((JobLog = "application/json"), (JobLog = "application/xml"))),
        ReadQuery,
    ))]
#[get("/rest/v1/jobs/{id}/log")]
async fn job_log(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<JobPath>,
    query: web::Query<LogQuery>,
) -> Result<Reply<JobLog>, ApiError> {
    let job = visible(&state, &who, path.into_inner().id).await?;
    let query = query.into_inner();
    let (limit, after) = position_query(query.limit, query.cursor.as_deref())?;
    let filter = LogFilter {
        level: query.level,
        entity: query.entity,
        record_id: query.record_id,
        after,
    };
    let rows = state
        .db
        .run(move |conn| log_rows::read(conn, &job.id, &filter, limit + 1))
        .await?;
    let (rows, next) = position_page(rows, limit, |r: &LogRow| r.position);
    Ok(Reply::ok(JobLog {
        entries: rows.into_iter().map(LogEntry::from).collect(),
        next,
    }))
}

/// The limit of a page of a list in the order it was written (a job's log, its quarantine),
/// and the position it starts after. Its cursor is the position itself (a number), not an
/// opaque token.
pub(super) fn position_query(
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<(i64, Option<i64>), ApiError> {
    let limit = PageQuery {
        limit,
        cursor: None,
    }
    .limit()?;
    let after = cursor
        .map(str::parse::<i64>)
        .transpose()
        .map_err(|_| invalid_cursor())?;
    Ok((limit, after))
}

/// One page of `rows` read with one row past the page, and the position of the next page
/// when there is more.
pub(super) fn position_page<R>(
    mut rows: Vec<R>,
    limit: i64,
    position: impl Fn(&R) -> i64,
) -> (Vec<R>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = rows
        .last()
        .filter(|_| more)
        .map(|r| position(r).to_string());
    (rows, next)
}

async fn act(
    who: Principal,
    state: web::Data<AppState>,
    id: String,
    action: fn(&mut DbConn, &str) -> DbResult<JobRow>,
) -> Result<Reply<Job>, ApiError> {
    let job = visible(&state, &who, id).await?;
    who.require_role(&[Role::Provider, Role::OrgAdmin])?;
    let row = state.db.run(move |conn| action(conn, &job.id)).await?;
    Ok(Reply::ok(Job::from_row(row)))
}

/// Makes a queued, failed or cancelled job runnable now.
#[utoipa::path(tag = "Jobs", security(("bearer" = [])), params(JobPath),
    responses(
        (status = 200, content((Job = "application/json"), (Job = "application/xml"))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The job is running or done"),
        AdminAction,
    ))]
#[post("/rest/v1/jobs/{id}/Run")]
async fn run_job(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<JobPath>,
) -> Result<Reply<Job>, ApiError> {
    act(who, state, path.into_inner().id, jobs::run_now).await
}

/// Sets the job's tries back to 0.
#[utoipa::path(tag = "Jobs", security(("bearer" = [])), params(JobPath),
    responses(
        (status = 200, content((Job = "application/json"), (Job = "application/xml"))),
        AdminAction,
    ))]
#[post("/rest/v1/jobs/{id}/ResetTries")]
async fn reset_tries(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<JobPath>,
) -> Result<Reply<Job>, ApiError> {
    act(who, state, path.into_inner().id, jobs::reset_tries).await
}

/// Cancels a queued job at once; a running one stops at its next batch boundary.
#[utoipa::path(tag = "Jobs", security(("bearer" = [])), params(JobPath),
    responses(
        (status = 200, content((Job = "application/json"), (Job = "application/xml"))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The job is already done"),
        AdminAction,
    ))]
#[post("/rest/v1/jobs/{id}/Cancel")]
async fn cancel_job(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<JobPath>,
) -> Result<Reply<Job>, ApiError> {
    act(who, state, path.into_inner().id, jobs::cancel).await
}

/// A job the delete guard held runs again with its deletes allowed: it makes the deletes it
/// planned (each kept in its quarantine) and goes on.
#[utoipa::path(tag = "Jobs", security(("bearer" = [])), params(JobPath),
    responses(
        (status = 200, content((Job = "application/json"), (Job = "application/xml"))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The job is not `Held` (`job_not_held`)"),
        AdminAction,
    ))]
#[post("/rest/v1/jobs/{id}/Approve")]
async fn approve_job(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<JobPath>,
) -> Result<Reply<Job>, ApiError> {
    act(who, state, path.into_inner().id, jobs::approve).await
}
