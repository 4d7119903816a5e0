//! The job queue and the job log.

use diesel::prelude::*;

use super::schema::{job_log, jobs};
use super::{now_micros, write_tx, DbConn};
use crate::error::ApiError;
use crate::jobs::{JobError, JobKind, JobStatus, LogLevel, Progress, Summary};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub org_name: String,
    pub status: String,
    pub tries: i32,
    pub max_tries: i32,
    pub entered_on: i64,
    pub last_tried_on: Option<i64>,
    pub finished_on: Option<i64>,
    pub run_after: i64,
    pub added_by: String,
    pub params: String,
    pub progress: String,
    pub summary: String,
    pub error: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub cancel_requested: bool,
}

impl JobRow {
    pub fn status(&self) -> JobStatus {
        JobStatus::parse(&self.status).unwrap_or(JobStatus::Failed)
    }
    pub fn kind(&self) -> Option<JobKind> {
        JobKind::parse(&self.kind)
    }
}

pub fn job_not_found(id: &str) -> ApiError {
    ApiError::not_found("job_not_found", format!("job '{id}' does not exist")).with("job", id)
}

/// A new queued job, runnable at once.
pub fn enqueue(
    conn: &mut DbConn,
    kind: JobKind,
    org: &str,
    added_by: &str,
    params: &serde_json::Value,
    max_tries: i32,
) -> Result<JobRow, ApiError> {
    let now = now_micros();
    let row = JobRow {
        id: uuid::Uuid::now_v7().to_string(),
        kind: kind.as_str().to_owned(),
        org_name: org.to_owned(),
        status: JobStatus::Queued.as_str().to_owned(),
        tries: 0,
        max_tries,
        entered_on: now,
        last_tried_on: None,
        finished_on: None,
        run_after: now,
        added_by: added_by.to_owned(),
        params: params.to_string(),
        progress: serde_json::to_string(&Progress {
            phase: "Queued".to_owned(),
            done: 0,
            total: 0,
        })
        .map_err(ApiError::internal)?,
        summary: "{}".to_owned(),
        error: None,
        lease_owner: None,
        lease_until: None,
        cancel_requested: false,
    };
    diesel::insert_into(jobs::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Queues a job of `kind` for `org`, or gives the one already queued or running (false). Run
/// it inside a write transaction: it takes the org's lock, so two callers (or two processes)
/// cannot both queue one.
pub fn enqueue_once(
    conn: &mut DbConn,
    kind: JobKind,
    org: &str,
    added_by: &str,
    params: &serde_json::Value,
    max_tries: i32,
) -> Result<(JobRow, bool), ApiError> {
    let org_row = super::orgs::require(conn, org)?;
    super::orgs::lock(conn, org_row.id)?;
    if let Some(active) = active(conn, org, kind)? {
        return Ok((active, false));
    }
    Ok((enqueue(conn, kind, org, added_by, params, max_tries)?, true))
}

/// When the org's latest job of `kind` was entered.
pub fn last_entered(conn: &mut DbConn, org: &str, kind: JobKind) -> Result<Option<i64>, ApiError> {
    Ok(jobs::table
        .filter(jobs::org_name.eq(org))
        .filter(jobs::kind.eq(kind.as_str()))
        .select(diesel::dsl::max(jobs::entered_on))
        .first(conn)?)
}

pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<JobRow>, ApiError> {
    Ok(jobs::table
        .find(id)
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// The queued or running job of `kind` for `org`, if any.
pub fn active(conn: &mut DbConn, org: &str, kind: JobKind) -> Result<Option<JobRow>, ApiError> {
    Ok(jobs::table
        .filter(jobs::org_name.eq(org))
        .filter(jobs::kind.eq(kind.as_str()))
        .filter(jobs::status.eq_any([JobStatus::Queued.as_str(), JobStatus::InProcess.as_str()]))
        .order(jobs::entered_on.asc())
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// What a list of jobs is narrowed to.
#[derive(Debug, Default)]
pub struct JobFilter {
    pub org: Option<String>,
    pub status: Option<JobStatus>,
    pub kind: Option<JobKind>,
    /// Jobs entered before this id (the ids are time-ordered), newest first.
    pub before: Option<String>,
}

pub fn list(conn: &mut DbConn, filter: &JobFilter, limit: i64) -> Result<Vec<JobRow>, ApiError> {
    let mut q = jobs::table
        .select(JobRow::as_select())
        .order(jobs::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(org) = &filter.org {
        q = q.filter(jobs::org_name.eq(org.clone()));
    }
    if let Some(status) = filter.status {
        q = q.filter(jobs::status.eq(status.as_str()));
    }
    if let Some(kind) = filter.kind {
        q = q.filter(jobs::kind.eq(kind.as_str()));
    }
    if let Some(before) = &filter.before {
        q = q.filter(jobs::id.lt(before.clone()));
    }
    Ok(q.load(conn)?)
}

/// Claims the next runnable job for `worker`: a queued one whose time has come, or a running
/// one whose lease lapsed (its process died). On PostgreSQL `SKIP LOCKED` lets many workers
/// and processes claim side by side; SQLite's write lock serializes them.
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    lease_micros: i64,
) -> Result<Option<JobRow>, ApiError> {
    write_tx(conn, |conn| {
        let now = now_micros();
        let runnable = jobs::status
            .eq(JobStatus::Queued.as_str())
            .and(jobs::run_after.le(now))
            .or(jobs::status
                .eq(JobStatus::InProcess.as_str())
                .and(jobs::lease_until.lt(now)));
        let id: Option<String> = match conn {
            DbConn::Pg(c) => jobs::table
                .filter(runnable)
                .order(jobs::run_after.asc())
                .select(jobs::id)
                .for_update()
                .skip_locked()
                .first(c)
                .optional()?,
            DbConn::Sqlite(c) => jobs::table
                .filter(runnable)
                .order(jobs::run_after.asc())
                .select(jobs::id)
                .first(c)
                .optional()?,
        };
        let Some(id) = id else { return Ok(None) };
        diesel::update(jobs::table.find(&id))
            .set((
                jobs::status.eq(JobStatus::InProcess.as_str()),
                jobs::tries.eq(jobs::tries + 1),
                jobs::last_tried_on.eq(now),
                jobs::lease_owner.eq(worker),
                jobs::lease_until.eq(now + lease_micros),
            ))
            .execute(conn)?;
        get(conn, &id)
    })
}

/// Extends the lease; false when the worker no longer holds the job (it lapsed and another
/// took it, or it was reset). Gives also whether a cancel was asked for.
pub fn heartbeat(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    lease_micros: i64,
) -> Result<(bool, bool), ApiError> {
    let n = diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::lease_owner.eq(worker))
            .filter(jobs::status.eq(JobStatus::InProcess.as_str())),
    )
    .set(jobs::lease_until.eq(now_micros() + lease_micros))
    .execute(conn)?;
    let cancel = jobs::table
        .find(id)
        .select(jobs::cancel_requested)
        .first(conn)
        .optional()?
        .unwrap_or(false);
    Ok((n == 1, cancel))
}

/// True when a cancel was asked for, or `worker` no longer holds the job.
pub fn must_stop(conn: &mut DbConn, id: &str, worker: &str) -> Result<bool, ApiError> {
    let row: Option<(bool, Option<String>)> = jobs::table
        .find(id)
        .select((jobs::cancel_requested, jobs::lease_owner))
        .first(conn)
        .optional()?;
    Ok(row.is_none_or(|(cancel, owner)| cancel || owner.as_deref() != Some(worker)))
}

pub fn set_progress(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    progress: &Progress,
) -> Result<(), ApiError> {
    diesel::update(jobs::table.find(id).filter(jobs::lease_owner.eq(worker)))
        .set(jobs::progress.eq(serde_json::to_string(progress).map_err(ApiError::internal)?))
        .execute(conn)?;
    Ok(())
}

/// Ends a run. A retryable error with tries left queues the job again after a backoff;
/// otherwise the status is final. Only the lease holder may end it; false when it no longer
/// holds the job.
pub fn finish(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    outcome: Result<(JobStatus, Summary), JobError>,
    backoff_micros: impl Fn(i32) -> i64,
) -> Result<bool, ApiError> {
    write_tx(conn, |conn| {
        let Some(job) = get(conn, id)? else {
            return Ok(false);
        };
        if job.lease_owner.as_deref() != Some(worker) || job.status() != JobStatus::InProcess {
            return Ok(false);
        }
        let now = now_micros();
        let owned = jobs::table.find(id).filter(jobs::lease_owner.eq(worker));
        match outcome {
            Ok((status, summary)) => {
                diesel::update(owned)
                    .set((
                        jobs::status.eq(status.as_str()),
                        jobs::finished_on.eq(now),
                        jobs::summary
                            .eq(serde_json::to_string(&summary).map_err(ApiError::internal)?),
                        jobs::error.eq(None::<String>),
                        jobs::lease_owner.eq(None::<String>),
                        jobs::lease_until.eq(None::<i64>),
                    ))
                    .execute(conn)?;
            }
            Err(e) => {
                let again = e.retryable && job.tries < job.max_tries && !job.cancel_requested;
                let error = serde_json::to_string(&e).map_err(ApiError::internal)?;
                let (status, finished, run_after) = if again {
                    (JobStatus::Queued, None, now + backoff_micros(job.tries))
                } else if job.cancel_requested || e.code == "cancelled" {
                    (JobStatus::Cancelled, Some(now), job.run_after)
                } else {
                    (JobStatus::Failed, Some(now), job.run_after)
                };
                diesel::update(owned)
                    .set((
                        jobs::status.eq(status.as_str()),
                        jobs::finished_on.eq(finished),
                        jobs::run_after.eq(run_after),
                        jobs::error.eq(Some(error)),
                        jobs::lease_owner.eq(None::<String>),
                        jobs::lease_until.eq(None::<i64>),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(true)
    })
}

/// `Run`: a queued, failed or cancelled job becomes runnable now.
pub fn run_now(conn: &mut DbConn, id: &str) -> Result<JobRow, ApiError> {
    write_tx(conn, |conn| {
        let job = get(conn, id)?.ok_or_else(|| job_not_found(id))?;
        match job.status() {
            JobStatus::Queued | JobStatus::Failed | JobStatus::Cancelled => {}
            other => {
                return Err(ApiError::conflict(
                    "job_not_runnable",
                    format!(
                        "job '{id}' is {other}; only a queued, failed or cancelled job can be run"
                    ),
                )
                .with("job_status", other.as_str()))
            }
        }
        diesel::update(jobs::table.find(id))
            .set((
                jobs::status.eq(JobStatus::Queued.as_str()),
                jobs::run_after.eq(now_micros()),
                jobs::finished_on.eq(None::<i64>),
                jobs::cancel_requested.eq(false),
            ))
            .execute(conn)?;
        get(conn, id)?.ok_or_else(|| job_not_found(id))
    })
}

pub fn reset_tries(conn: &mut DbConn, id: &str) -> Result<JobRow, ApiError> {
    let n = diesel::update(jobs::table.find(id))
        .set(jobs::tries.eq(0))
        .execute(conn)?;
    if n == 0 {
        return Err(job_not_found(id));
    }
    get(conn, id)?.ok_or_else(|| job_not_found(id))
}

/// `Cancel`: a queued job is cancelled at once; a running one stops at its next batch boundary.
pub fn cancel(conn: &mut DbConn, id: &str) -> Result<JobRow, ApiError> {
    write_tx(conn, |conn| {
        let job = get(conn, id)?.ok_or_else(|| job_not_found(id))?;
        match job.status() {
            JobStatus::Queued => {
                diesel::update(jobs::table.find(id))
                    .set((
                        jobs::status.eq(JobStatus::Cancelled.as_str()),
                        jobs::finished_on.eq(now_micros()),
                    ))
                    .execute(conn)?;
            }
            JobStatus::InProcess => {
                diesel::update(jobs::table.find(id))
                    .set(jobs::cancel_requested.eq(true))
                    .execute(conn)?;
            }
            other => {
                return Err(ApiError::conflict(
                    "job_finished",
                    format!("job '{id}' is already {other}"),
                )
                .with("job_status", other.as_str()))
            }
        }
        get(conn, id)?.ok_or_else(|| job_not_found(id))
    })
}

/// Deletes finished jobs that ended before `cutoff_micros` (their logs go with them); gives
/// how many.
pub fn purge(conn: &mut DbConn, cutoff_micros: i64) -> Result<usize, ApiError> {
    let finished = [
        JobStatus::Completed.as_str(),
        JobStatus::CompletedWithErrors.as_str(),
        JobStatus::Failed.as_str(),
        JobStatus::Cancelled.as_str(),
    ];
    write_tx(conn, |conn| {
        let old: Vec<String> = jobs::table
            .filter(jobs::status.eq_any(finished))
            .filter(jobs::finished_on.lt(cutoff_micros))
            .select(jobs::id)
            .load(conn)?;
        for chunk in old.chunks(500) {
            diesel::delete(job_log::table.filter(job_log::job_id.eq_any(chunk))).execute(conn)?;
            diesel::delete(jobs::table.filter(jobs::id.eq_any(chunk))).execute(conn)?;
        }
        Ok(old.len())
    })
}

/// Counts by status, for the metrics.
pub fn counts(conn: &mut DbConn) -> Result<Vec<(String, i64)>, ApiError> {
    Ok(jobs::table
        .group_by(jobs::status)
        .select((jobs::status, diesel::dsl::count_star()))
        .load(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = job_log)]
pub struct LogRow {
    pub id: i64,
    pub job_id: String,
    pub at: i64,
    pub level: String,
    pub entity: Option<String>,
    pub record_id: Option<String>,
    pub action: String,
    pub message: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = job_log)]
pub struct NewLog {
    pub job_id: String,
    pub at: i64,
    pub level: String,
    pub entity: Option<String>,
    pub record_id: Option<String>,
    pub action: String,
    pub message: String,
}

impl NewLog {
    pub fn new(job_id: &str, level: LogLevel, action: &str, message: impl Into<String>) -> Self {
        Self {
            job_id: job_id.to_owned(),
            at: now_micros(),
            level: level.as_str().to_owned(),
            entity: None,
            record_id: None,
            action: action.to_owned(),
            message: message.into(),
        }
    }
    pub fn entity(mut self, entity: &str) -> Self {
        self.entity = Some(entity.to_owned());
        self
    }
    pub fn record(mut self, id: &str) -> Self {
        self.record_id = Some(id.to_owned());
        self
    }
}

pub fn append_log(conn: &mut DbConn, entries: &[NewLog]) -> Result<(), ApiError> {
    match conn {
        DbConn::Pg(c) => {
            for chunk in entries.chunks(500) {
                diesel::insert_into(job_log::table)
                    .values(chunk)
                    .execute(c)?;
            }
        }
        DbConn::Sqlite(c) => {
            for entry in entries {
                diesel::insert_into(job_log::table)
                    .values(entry)
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

#[derive(Debug, Default)]
pub struct LogFilter {
    pub level: Option<LogLevel>,
    pub entity: Option<String>,
    pub record_id: Option<String>,
    pub after: Option<i64>,
}

pub fn log(
    conn: &mut DbConn,
    job_id: &str,
    filter: &LogFilter,
    limit: i64,
) -> Result<Vec<LogRow>, ApiError> {
    let mut q = job_log::table
        .filter(job_log::job_id.eq(job_id.to_owned()))
        .order(job_log::id.asc())
        .limit(limit)
        .select(LogRow::as_select())
        .into_boxed();
    if let Some(level) = filter.level {
        q = q.filter(job_log::level.eq(level.as_str()));
    }
    if let Some(entity) = &filter.entity {
        q = q.filter(job_log::entity.eq(entity.clone()));
    }
    if let Some(record) = &filter.record_id {
        q = q.filter(job_log::record_id.eq(record.clone()));
    }
    if let Some(after) = filter.after {
        q = q.filter(job_log::id.gt(after));
    }
    Ok(q.load(conn)?)
}
