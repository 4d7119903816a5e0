//! The job queue and the job log.

use diesel::prelude::*;

use super::schema::{job_log, jobs, quarantine};
use super::{now_micros, write_tx, DbConn, DbResult, Json};
use crate::domain::error::{job_not_found, Code, Refusal};
use crate::domain::jobs::{Finished, JobError, JobKind, JobStatus, Progress, Summary};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: String,
    pub kind: JobKind,
    pub org_name: String,
    pub status: JobStatus,
    pub tries: i32,
    pub max_tries: i32,
    pub entered_on: i64,
    pub last_tried_on: Option<i64>,
    pub finished_on: Option<i64>,
    pub run_after: i64,
    pub added_by: String,
    /// What the job was asked to do, in the form its kind reads.
    pub params: Json<serde_json::Value>,
    pub progress: Json<Progress>,
    pub summary: Json<Summary>,
    pub error: Option<Json<JobError>>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub cancel_requested: bool,
    /// A job the delete guard held was approved: its deletes go through.
    pub deletes_approved: bool,
}

impl JobRow {
    /// What a failed run of this job comes to: `Queued` to be tried again, `Cancelled` when a
    /// cancel was asked (or the run stopped for one), else `Failed` for good.
    pub fn after_failure(&self, e: &JobError) -> JobStatus {
        if e.retryable && self.tries < self.max_tries && !self.cancel_requested {
            JobStatus::Queued
        } else if self.cancel_requested || e.is_cancel() {
            JobStatus::Cancelled
        } else {
            JobStatus::Failed
        }
    }
}

/// A new queued job, runnable at once.
pub fn enqueue(
    conn: &mut DbConn,
    kind: JobKind,
    org: &str,
    added_by: &str,
    params: &serde_json::Value,
    max_tries: i32,
) -> DbResult<JobRow> {
    let now = now_micros();
    let row = JobRow {
        id: uuid::Uuid::now_v7().to_string(),
        kind,
        org_name: org.to_owned(),
        status: JobStatus::Queued,
        tries: 0,
        max_tries,
        entered_on: now,
        last_tried_on: None,
        finished_on: None,
        run_after: now,
        added_by: added_by.to_owned(),
        params: Json::new(params.clone()),
        progress: Json::new(Progress::new("Queued", 0, 0)),
        summary: Json::new(Summary::new()),
        error: None,
        lease_owner: None,
        lease_until: None,
        cancel_requested: false,
        deletes_approved: false,
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
) -> DbResult<(JobRow, bool)> {
    enqueue_unless(conn, kind, &[kind], org, added_by, params, max_tries)
}

/// Queues a job of `kind` for `org`, or gives the org's job of one of `kinds` already queued
/// or running (false); inside a write transaction, as [`enqueue_once`].
pub fn enqueue_unless(
    conn: &mut DbConn,
    kind: JobKind,
    kinds: &[JobKind],
    org: &str,
    added_by: &str,
    params: &serde_json::Value,
    max_tries: i32,
) -> DbResult<(JobRow, bool)> {
    let org_row = super::orgs::require(conn, org)?;
    super::orgs::lock(conn, org_row.id)?;
    // A dry run writes nothing: it is a job of its own, never one already queued for real.
    let dry_run = params.get("DryRun") == Some(&serde_json::Value::Bool(true));
    if !dry_run {
        if let Some(active) = active_of(conn, org, kinds)? {
            return Ok((active, false));
        }
    }
    Ok((enqueue(conn, kind, org, added_by, params, max_tries)?, true))
}

/// When the org's latest job of `kind` was entered.
pub fn last_entered(conn: &mut DbConn, org: &str, kind: JobKind) -> DbResult<Option<i64>> {
    Ok(jobs::table
        .filter(jobs::org_name.eq(org))
        .filter(jobs::kind.eq(kind))
        .select(diesel::dsl::max(jobs::entered_on))
        .first(conn)?)
}

/// The job, or the refusal naming it.
pub fn require(conn: &mut DbConn, id: &str) -> DbResult<JobRow> {
    Ok(get(conn, id)?.ok_or_else(|| job_not_found(id))?)
}

pub fn get(conn: &mut DbConn, id: &str) -> DbResult<Option<JobRow>> {
    Ok(jobs::table
        .find(id)
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// The queued or running job of `kind` for `org`, if any.
pub fn active(conn: &mut DbConn, org: &str, kind: JobKind) -> DbResult<Option<JobRow>> {
    active_of(conn, org, &[kind])
}

/// The oldest queued, running or held job of one of `kinds` for `org`, if any.
pub fn active_of(conn: &mut DbConn, org: &str, kinds: &[JobKind]) -> DbResult<Option<JobRow>> {
    Ok(jobs::table
        .filter(jobs::org_name.eq(org))
        .filter(jobs::kind.eq_any(kinds.to_vec()))
        .filter(jobs::status.eq_any(JobStatus::ACTIVE))
        // A dry run is no stand-in for the job it previews (its params hold `"DryRun":true`,
        // as serde_json writes them).
        .filter(jobs::params.not_like("%\"DryRun\":true%"))
        .order(jobs::entered_on.asc())
        .select(JobRow::as_select())
        .first(conn)
        .optional()?)
}

/// The org's job the delete guard holds, if any.
pub fn held(conn: &mut DbConn, org: &str) -> DbResult<Option<JobRow>> {
    Ok(jobs::table
        .filter(jobs::org_name.eq(org))
        .filter(jobs::status.eq(JobStatus::Held))
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
    /// Only jobs of these kinds.
    pub kinds: Option<Vec<JobKind>>,
    /// Jobs entered before this id (the ids are time-ordered), newest first.
    pub before: Option<String>,
}

pub fn list(conn: &mut DbConn, filter: &JobFilter, limit: i64) -> DbResult<Vec<JobRow>> {
    let mut q = jobs::table
        .select(JobRow::as_select())
        .order(jobs::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(org) = &filter.org {
        q = q.filter(jobs::org_name.eq(org.clone()));
    }
    if let Some(status) = filter.status {
        q = q.filter(jobs::status.eq(status));
    }
    if let Some(kind) = filter.kind {
        q = q.filter(jobs::kind.eq(kind));
    }
    if let Some(kinds) = &filter.kinds {
        q = q.filter(jobs::kind.eq_any(kinds.clone()));
    }
    if let Some(before) = &filter.before {
        q = q.filter(jobs::id.lt(before.clone()));
    }
    Ok(q.load(conn)?)
}

/// Claims the next runnable job for `worker`: a queued one whose time has come, or a running
/// one whose lease lapsed (its process died). On PostgreSQL `SKIP LOCKED` lets many workers
/// and processes claim side by side; SQLite's write lock serializes them. A lapsed job that
/// had used its last try fails instead: a try whose process died counts, so `MaxTries` holds
/// however often workers die.
pub fn claim(conn: &mut DbConn, worker: &str, lease_micros: i64) -> DbResult<Claim> {
    claim_in(conn, worker, lease_micros)
}

/// What a claim found.
pub enum Claim {
    /// A job to run, claimed by the worker.
    Job(Box<JobRow>),
    /// A lapsed job with no try left, failed now (the worker runs its kind's failure hook and
    /// looks again).
    Exhausted(Box<JobRow>),
    Nothing,
}

fn claim_in(conn: &mut DbConn, worker: &str, lease_micros: i64) -> DbResult<Claim> {
    write_tx(conn, |conn| {
        let now = now_micros();
        let runnable = jobs::status
            .eq(JobStatus::Queued)
            .and(jobs::run_after.le(now))
            .or(jobs::status
                .eq(JobStatus::InProcess)
                .and(jobs::lease_until.lt(now)));
        let candidates: Vec<(String, JobStatus, i32, i32, String)> = match conn {
            DbConn::Pg(c) => jobs::table
                .filter(runnable)
                .order(jobs::run_after.asc())
                .select((
                    jobs::id,
                    jobs::status,
                    jobs::tries,
                    jobs::max_tries,
                    jobs::org_name,
                ))
                .limit(CANDIDATES)
                .for_update()
                .skip_locked()
                .load(c)?,
            DbConn::Sqlite(c) => jobs::table
                .filter(runnable)
                .order(jobs::run_after.asc())
                .select((
                    jobs::id,
                    jobs::status,
                    jobs::tries,
                    jobs::max_tries,
                    jobs::org_name,
                ))
                .limit(CANDIDATES)
                .load(c)?,
        };
        let mut found = None;
        for (id, status, tries, max_tries, org) in candidates {
            if !org_busy(conn, &org, &id, now)? {
                found = Some((id, status, tries, max_tries));
                break;
            }
        }
        let Some((id, status, tries, max_tries)) = found else {
            return Ok(Claim::Nothing);
        };
        if status == JobStatus::InProcess && tries >= max_tries {
            let error = JobError::fatal(
                Code::WorkerLost,
                format!("the process running try {tries} of {max_tries} stopped before it ended"),
            );
            diesel::update(jobs::table.find(&id))
                .set((
                    jobs::status.eq(JobStatus::Failed),
                    jobs::finished_on.eq(now),
                    jobs::error.eq(Some(Json::new(error))),
                    jobs::lease_owner.eq(None::<String>),
                    jobs::lease_until.eq(None::<i64>),
                ))
                .execute(conn)?;
            return Ok(Claim::Exhausted(Box::new(require(conn, &id)?)));
        }
        diesel::update(jobs::table.find(&id))
            .set((
                jobs::status.eq(JobStatus::InProcess),
                jobs::tries.eq(jobs::tries + 1),
                jobs::last_tried_on.eq(now),
                jobs::lease_owner.eq(worker),
                jobs::lease_until.eq(now + lease_micros),
            ))
            .execute(conn)?;
        match get(conn, &id) {
            Err(super::DbError::Query(diesel::result::Error::DeserializationError(e))) => {
                // A row this version cannot read (a kind it does not know) fails for good
                // rather than being claimed again and again.
                let error = JobError::fatal(
                    Code::UnknownJobKind,
                    format!("this version cannot read job '{id}': {e}"),
                );
                diesel::update(jobs::table.find(&id))
                    .set((
                        jobs::status.eq(JobStatus::Failed),
                        jobs::finished_on.eq(now),
                        jobs::error.eq(Some(Json::new(error))),
                        jobs::lease_owner.eq(None::<String>),
                        jobs::lease_until.eq(None::<i64>),
                    ))
                    .execute(conn)?;
                Ok(Claim::Nothing)
            }
            other => Ok(other?.map_or(Claim::Nothing, |job| Claim::Job(Box::new(job)))),
        }
    })
}

/// Runnable jobs a claim looks at; the first whose org runs no other job is taken.
const CANDIDATES: i64 = 16;

/// Another job of `org` is running under a live lease: one job at a time works on an org, so
/// a snapshot never interleaves with a sync. On PostgreSQL the org's row is locked first, so
/// two workers claiming jobs of one org at once see each other's claim.
fn org_busy(conn: &mut DbConn, org: &str, id: &str, now: i64) -> DbResult<bool> {
    if let DbConn::Pg(c) = conn {
        use super::schema::orgs;
        orgs::table
            .filter(orgs::name.eq(org))
            .select(orgs::id)
            .for_update()
            .load::<i64>(c)?;
    }
    let running: i64 = jobs::table
        .filter(jobs::org_name.eq(org))
        .filter(jobs::id.ne(id))
        .filter(jobs::status.eq(JobStatus::InProcess))
        .filter(jobs::lease_until.ge(now))
        .count()
        .get_result(conn)?;
    Ok(running > 0)
}

/// Extends the lease; false when the worker no longer holds the job (it lapsed and another
/// took it, or it was reset). Gives also whether a cancel was asked for.
pub fn heartbeat(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    lease_micros: i64,
) -> DbResult<(bool, bool)> {
    let n = diesel::update(
        jobs::table
            .find(id)
            .filter(jobs::lease_owner.eq(worker))
            .filter(jobs::status.eq(JobStatus::InProcess)),
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
pub fn must_stop(conn: &mut DbConn, id: &str, worker: &str) -> DbResult<bool> {
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
) -> DbResult<()> {
    diesel::update(jobs::table.find(id).filter(jobs::lease_owner.eq(worker)))
        .set(jobs::progress.eq(Json::new(progress.clone())))
        .execute(conn)?;
    Ok(())
}

/// Ends a run. A retryable error with tries left queues the job again after a backoff;
/// otherwise the status is final. Only the lease holder may end it; gives the status it
/// ended in, or `None` when the worker no longer holds the job.
pub fn finish(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    outcome: Result<Finished, JobError>,
    backoff_micros: impl Fn(i32) -> i64,
) -> DbResult<Option<JobStatus>> {
    write_tx(conn, |conn| {
        let Some(job) = get(conn, id)? else {
            return Ok(None);
        };
        if job.lease_owner.as_deref() != Some(worker) || job.status != JobStatus::InProcess {
            return Ok(None);
        }
        let now = now_micros();
        let owned = jobs::table.find(id).filter(jobs::lease_owner.eq(worker));
        let ended = match outcome {
            Ok((status, summary)) => {
                // A held job is not done: it waits for Approve or Cancel, and says why.
                let held = status == JobStatus::Held;
                let error = held.then(|| Json::new(JobError::held(&summary)));
                diesel::update(owned)
                    .set((
                        jobs::status.eq(status),
                        jobs::finished_on.eq((!held).then_some(now)),
                        jobs::summary.eq(Json::new(summary)),
                        jobs::error.eq(error),
                        jobs::lease_owner.eq(None::<String>),
                        jobs::lease_until.eq(None::<i64>),
                    ))
                    .execute(conn)?;
                status
            }
            Err(e) => {
                let status = job.after_failure(&e);
                let (finished, run_after) = match status {
                    JobStatus::Queued => (None, now + backoff_micros(job.tries)),
                    _ => (Some(now), job.run_after),
                };
                diesel::update(owned)
                    .set((
                        jobs::status.eq(status),
                        jobs::finished_on.eq(finished),
                        jobs::run_after.eq(run_after),
                        jobs::error.eq(Some(Json::new(e))),
                        jobs::lease_owner.eq(None::<String>),
                        jobs::lease_until.eq(None::<i64>),
                    ))
                    .execute(conn)?;
                status
            }
        };
        Ok(Some(ended))
    })
}

/// `Run`: a queued, failed or cancelled job becomes runnable now.
pub fn run_now(conn: &mut DbConn, id: &str) -> DbResult<JobRow> {
    write_tx(conn, |conn| {
        let job = require(conn, id)?;
        if !job.status.can_run() {
            return Err(Refusal::new(
                Code::JobNotRunnable,
                format!(
                    "job '{id}' is {}; only a queued, failed or cancelled job can be run",
                    job.status
                ),
            )
            .with("job_status", job.status.as_str())
            .into());
        }
        // Run grants a job that used all its tries one more (ResetTries grants them all).
        diesel::update(jobs::table.find(id))
            .set((
                jobs::status.eq(JobStatus::Queued),
                jobs::tries.eq(job.tries.min(job.max_tries - 1).max(0)),
                jobs::run_after.eq(now_micros()),
                jobs::finished_on.eq(None::<i64>),
                jobs::cancel_requested.eq(false),
            ))
            .execute(conn)?;
        require(conn, id)
    })
}

pub fn reset_tries(conn: &mut DbConn, id: &str) -> DbResult<JobRow> {
    let n = diesel::update(jobs::table.find(id))
        .set(jobs::tries.eq(0))
        .execute(conn)?;
    if n == 0 {
        return Err(job_not_found(id).into());
    }
    require(conn, id)
}

/// `Cancel`: a queued or held job is cancelled at once (a held job's planned deletes are
/// dropped); a running one stops at its next batch boundary.
pub fn cancel(conn: &mut DbConn, id: &str) -> DbResult<JobRow> {
    write_tx(conn, |conn| {
        let job = require(conn, id)?;
        match job.status {
            JobStatus::Queued | JobStatus::Held => {
                diesel::update(jobs::table.find(id))
                    .set((
                        jobs::status.eq(JobStatus::Cancelled),
                        jobs::finished_on.eq(now_micros()),
                    ))
                    .execute(conn)?;
                super::staged::drop_job(conn, id)?;
            }
            JobStatus::InProcess => {
                diesel::update(jobs::table.find(id))
                    .set(jobs::cancel_requested.eq(true))
                    .execute(conn)?;
            }
            other => {
                return Err(Refusal::new(
                    Code::JobFinished,
                    format!("job '{id}' is already {other}"),
                )
                .with("job_status", other.as_str())
                .into())
            }
        }
        require(conn, id)
    })
}

/// `Approve`: a job the delete guard held runs again, its deletes allowed.
pub fn approve(conn: &mut DbConn, id: &str) -> DbResult<JobRow> {
    write_tx(conn, |conn| {
        let job = require(conn, id)?;
        if job.status != JobStatus::Held {
            return Err(Refusal::new(
                Code::JobNotHeld,
                format!(
                    "job '{id}' is {}; only a held job can be approved",
                    job.status
                ),
            )
            .with("job_status", job.status.as_str())
            .into());
        }
        diesel::update(jobs::table.find(id))
            .set((
                jobs::status.eq(JobStatus::Queued),
                jobs::deletes_approved.eq(true),
                jobs::run_after.eq(now_micros()),
                jobs::tries.eq(job.tries.min(job.max_tries - 1).max(0)),
            ))
            .execute(conn)?;
        require(conn, id)
    })
}

/// Cancels every job of `org` that waits, queued or held by the delete guard (whose staged
/// deletes are dropped); gives how many.
pub fn cancel_waiting(conn: &mut DbConn, org: &str) -> DbResult<usize> {
    let waiting = [JobStatus::Queued, JobStatus::Held];
    let held: Vec<String> = jobs::table
        .filter(jobs::org_name.eq(org))
        .filter(jobs::status.eq(JobStatus::Held))
        .select(jobs::id)
        .load(conn)?;
    for id in &held {
        super::staged::drop_job(conn, id)?;
    }
    Ok(diesel::update(
        jobs::table
            .filter(jobs::org_name.eq(org))
            .filter(jobs::status.eq_any(waiting)),
    )
    .set((
        jobs::status.eq(JobStatus::Cancelled),
        jobs::finished_on.eq(now_micros()),
    ))
    .execute(conn)?)
}

/// Deletes finished jobs that ended before `cutoff_micros` (their logs and quarantines go with
/// them); gives how many.
pub fn purge(conn: &mut DbConn, cutoff_micros: i64) -> DbResult<usize> {
    let finished = JobStatus::FINISHED;
    write_tx(conn, |conn| {
        let old: Vec<String> = jobs::table
            .filter(jobs::status.eq_any(finished))
            .filter(jobs::finished_on.lt(cutoff_micros))
            .select(jobs::id)
            .load(conn)?;
        for chunk in old.chunks(500) {
            diesel::delete(job_log::table.filter(job_log::job_id.eq_any(chunk))).execute(conn)?;
            // What the job kept goes with it: nothing could reach it any more.
            diesel::delete(quarantine::table.filter(quarantine::job_id.eq_any(chunk)))
                .execute(conn)?;
            super::snapshots::drop_jobs(conn, chunk)?;
            diesel::delete(jobs::table.filter(jobs::id.eq_any(chunk))).execute(conn)?;
        }
        Ok(old.len())
    })
}

/// Counts by status, for the metrics.
pub fn counts(conn: &mut DbConn) -> DbResult<Vec<(JobStatus, i64)>> {
    Ok(jobs::table
        .group_by(jobs::status)
        .select((jobs::status, diesel::dsl::count_star()))
        .load(conn)?)
}
