//! The log of each job: what it did, record by record, and why.

use diesel::prelude::*;

use super::schema::job_log;
use super::{now_micros, DbConn, DbResult};
use crate::domain::jobs::LogLevel;

/// A row as stored: one entry, or (`record_ids` set) one entry per record it lists.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = job_log)]
struct StoredRow {
    id: i64,
    at: i64,
    level: LogLevel,
    entity: Option<String>,
    record_id: Option<String>,
    action: String,
    message: String,
    record_ids: Option<String>,
}

/// One entry of a job's log, at its position: the row that holds it, and its place there.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub position: i64,
    pub at: i64,
    pub level: LogLevel,
    pub entity: Option<String>,
    pub record_id: Option<String>,
    pub action: String,
    pub message: String,
}

/// The low bits of a position number an entry within its row.
const INDEX_BITS: u32 = 20;
/// The most entries one row holds.
const GROUP_MAX: usize = 1 << INDEX_BITS;

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
    record_ids: Option<String>,
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
            record_ids: None,
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

    /// Another record's entry that says the same (the same job, level, entity, action and
    /// message).
    fn says_the_same(&self, other: &Self) -> bool {
        self.record_id.is_some()
            && other.record_id.is_some()
            && self.job_id == other.job_id
            && self.level == other.level
            && self.entity == other.entity
            && self.action == other.action
            && self.message == other.message
    }
}

/// Writes the entries in their order. A run of entries of records that say the same (a batch
/// of `Create`s) is one row listing their ids, so a sync's log costs a few rows per batch.
pub fn append(conn: &mut DbConn, entries: &[NewLog]) -> DbResult<()> {
    let rows = grouped(entries);
    match conn {
        DbConn::Pg(c) => {
            for chunk in rows.chunks(500) {
                diesel::insert_into(job_log::table)
                    .values(chunk)
                    .execute(c)?;
            }
        }
        DbConn::Sqlite(c) => {
            for row in &rows {
                diesel::insert_into(job_log::table).values(row).execute(c)?;
            }
        }
    }
    Ok(())
}

/// The rows that hold `entries`: each run of entries that say the same in one.
fn grouped(entries: &[NewLog]) -> Vec<NewLog> {
    let mut rows: Vec<NewLog> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let close = |rows: &mut Vec<NewLog>, run: &mut Vec<&str>| {
        if run.len() > 1 {
            if let Some(last) = rows.last_mut() {
                last.record_ids = serde_json::to_string(run).ok();
                last.record_id = None;
            }
        }
        run.clear();
    };
    for entry in entries {
        let joins =
            run.len() < GROUP_MAX && rows.last().is_some_and(|last| last.says_the_same(entry));
        if joins {
            run.extend(entry.record_id.as_deref());
            continue;
        }
        close(&mut rows, &mut run);
        rows.push(entry.clone());
        run.extend(entry.record_id.as_deref());
    }
    close(&mut rows, &mut run);
    rows
}

#[derive(Debug, Default)]
pub struct LogFilter {
    pub level: Option<LogLevel>,
    pub entity: Option<String>,
    pub record_id: Option<String>,
    /// The position the read starts after.
    pub after: Option<i64>,
}

/// Up to `limit` entries of the job's log after `filter.after`, in the order written.
pub fn read(
    conn: &mut DbConn,
    job_id: &str,
    filter: &LogFilter,
    limit: i64,
) -> DbResult<Vec<LogRow>> {
    // Each row gives one entry at least, except the one the read starts inside of.
    let mut q = job_log::table
        .filter(job_log::job_id.eq(job_id.to_owned()))
        .order(job_log::id.asc())
        .limit(limit.saturating_add(1))
        .select(StoredRow::as_select())
        .into_boxed();
    if let Some(level) = filter.level {
        q = q.filter(job_log::level.eq(level));
    }
    if let Some(entity) = &filter.entity {
        q = q.filter(job_log::entity.eq(entity.clone()));
    }
    if let Some(record) = &filter.record_id {
        q = q.filter(
            job_log::record_id
                .eq(record.clone())
                .or(job_log::record_ids.like(listing(record)).escape('\\')),
        );
    }
    if let Some(after) = filter.after {
        q = q.filter(job_log::id.ge(after >> INDEX_BITS));
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for row in q.load::<StoredRow>(conn)? {
        let base = row.id << INDEX_BITS;
        let ids: Vec<Option<String>> = match &row.record_ids {
            Some(list) => serde_json::from_str::<Vec<String>>(list)
                .map_err(|e| {
                    super::DbError::Corrupt(format!(
                        "job_log ({}): record_ids is not a list of ids: {e}",
                        row.id
                    ))
                })?
                .into_iter()
                .map(Some)
                .collect(),
            None => vec![row.record_id.clone()],
        };
        for (index, record_id) in ids.into_iter().enumerate() {
            let position = base | index as i64;
            let wanted = filter.after.is_none_or(|after| position > after)
                && filter
                    .record_id
                    .as_ref()
                    .is_none_or(|r| record_id.as_ref() == Some(r));
            if wanted && out.len() < limit {
                out.push(LogRow {
                    position,
                    at: row.at,
                    level: row.level,
                    entity: row.entity.clone(),
                    record_id,
                    action: row.action.clone(),
                    message: row.message.clone(),
                });
            }
        }
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// The LIKE pattern of a row listing `record`: its JSON string, quotes included, anywhere.
fn listing(record: &str) -> String {
    let quoted = serde_json::to_string(record).unwrap_or_default();
    let mut pattern = String::from("%");
    for c in quoted.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
