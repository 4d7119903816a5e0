//! A record's timeline: what the store holds about one record (its client writes and their
//! transactions, the job log entries that name it, its conflicts and quarantine entries) put
//! in time order, so "why does this record look like this?" has one answer.

use super::{Engine, EngineError};
use crate::db::{micros_to_datetime, orgs, timeline};
use crate::domain::jobs::LogLevel;
use crate::wire::timeline::{Timeline, TimelineEvent};

fn event(at: i64, kind: &str) -> TimelineEvent {
    TimelineEvent {
        at: micros_to_datetime(at),
        kind: kind.to_owned(),
        ..TimelineEvent::default()
    }
}

impl Engine {
    /// Every event of `entity` `id` in `org`, oldest first (events at the same instant in the
    /// order a record lives them: a job's entry, a write, a conflict, a quarantine).
    pub async fn timeline(
        &self,
        org: &str,
        entity: &str,
        id: &str,
    ) -> Result<Timeline, EngineError> {
        let (org, entity, id) = (org.to_owned(), entity.to_owned(), id.to_owned());
        self.db
            .run(move |conn| {
                let org_row = orgs::require(conn, &org)?;
                let mut events: Vec<(i64, usize, TimelineEvent)> = Vec::new();
                for e in timeline::log_of(conn, &org, &entity, &id)? {
                    let mut ev = event(e.at, "Job");
                    ev.action = Some(e.action);
                    ev.job_id = Some(e.job_id);
                    ev.job_kind = Some(e.kind.as_str().to_owned());
                    if e.level != LogLevel::Info {
                        ev.error = Some(e.level.as_str().to_owned());
                    }
                    ev.message = Some(e.message);
                    events.push((e.at, 0, ev));
                }
                for t in timeline::transactions_of(conn, org_row.id, &entity, &id)? {
                    let mut ev = event(t.created_on, "ClientWrite");
                    ev.action = Some(t.operation.as_str().to_owned());
                    ev.transaction_id = Some(t.id);
                    ev.status = Some(t.status.as_str().to_owned());
                    ev.tries = Some(t.tries);
                    ev.error = t.error.as_ref().map(|e| e.get().code.clone());
                    ev.message = t.error.map(|e| e.into_inner().message);
                    ev.resolution = t.resolution.map(|r| r.as_str().to_owned());
                    events.push((t.created_on, 1, ev));
                }
                for c in timeline::conflicts_of(conn, org_row.id, &entity, &id)? {
                    let mut ev = event(c.created_on, "ConflictOpened");
                    ev.conflict_id = Some(c.id.clone());
                    ev.transaction_id = Some(c.transaction_id.clone());
                    events.push((c.created_on, 2, ev));
                    if let Some(at) = c.resolved_on {
                        let mut ev = event(at, "ConflictResolved");
                        ev.conflict_id = Some(c.id);
                        ev.transaction_id = Some(c.transaction_id);
                        ev.resolution = c.resolution.map(|r| r.as_str().to_owned());
                        events.push((at, 2, ev));
                    }
                }
                for q in timeline::quarantine_of(conn, org_row.id, &entity, &id)? {
                    let mut ev = event(q.created_on, "Quarantined");
                    ev.action = Some(q.action.clone());
                    ev.job_id = Some(q.job_id.clone());
                    ev.side = Some(q.side.clone());
                    events.push((q.created_on, 3, ev));
                    if let Some(at) = q.restored_on {
                        let mut ev = event(at, "Restored");
                        ev.job_id = Some(q.job_id);
                        ev.side = Some(q.side);
                        events.push((at, 3, ev));
                    }
                }
                events.sort_by_key(|(at, order, _)| (*at, *order));
                Ok(Timeline {
                    entity,
                    id,
                    events: events.into_iter().map(|(_, _, e)| e).collect(),
                })
            })
            .await
    }
}
