//! The log of each job: what it did, record by record, and why.

use diesel::prelude::*;

use super::schema::job_log;
use super::{now_micros, DbConn, DbResult};
use crate::domain::jobs::LogLevel;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = job_log)]
pub struct LogRow {
    pub id: i64,
    pub job_id: String,
    pub at: i64,
    pub level: LogLevel,
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
    pub level: LogLevel,
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
            level,
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

pub fn append(conn: &mut DbConn, entries: &[NewLog]) -> DbResult<()> {
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

pub fn read(
    conn: &mut DbConn,
    job_id: &str,
    filter: &LogFilter,
    limit: i64,
) -> DbResult<Vec<LogRow>> {
    let mut q = job_log::table
        .filter(job_log::job_id.eq(job_id.to_owned()))
        .order(job_log::id.asc())
        .limit(limit)
        .select(LogRow::as_select())
        .into_boxed();
    if let Some(level) = filter.level {
        q = q.filter(job_log::level.eq(level));
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
