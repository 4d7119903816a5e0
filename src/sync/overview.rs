//! The admin console's overviews: every connection with its state, lag and queues, and an
//! org's transactions counted by status. Read in a few grouped queries, never per row.

use std::collections::HashMap;

use chrono::Utc;

use super::{Engine, EngineError};
use crate::db::{micros_to_datetime, orgs, overview};
use crate::domain::jobs::JobStatus;
use crate::domain::provider;
use crate::domain::setup::ConnectionState;
use crate::domain::transaction::TxStatus;
use crate::wire::overview::{ActiveJob, ConnectionSummary, TransactionCounts};

impl Engine {
    /// Every client org's connection (only `org`'s when given), by org name.
    pub async fn connections_overview(
        &self,
        org: Option<String>,
    ) -> Result<Vec<ConnectionSummary>, EngineError> {
        self.db
            .run(move |conn| {
                let rows = overview::connections(conn, org.as_deref())?;
                let ids: Vec<i64> = rows.iter().map(|(_, c)| c.org_id).collect();
                let names: Vec<String> = rows.iter().map(|(n, _)| n.clone()).collect();
                let counts = overview::transaction_counts(conn, &ids)?;
                let mut jobs: HashMap<String, Vec<_>> = HashMap::new();
                for job in overview::active_jobs(conn, &names)? {
                    jobs.entry(job.org_name.clone()).or_default().push(job);
                }
                let now = Utc::now();
                Ok(rows
                    .into_iter()
                    .map(|(name, c)| {
                        let count = |s: TxStatus| {
                            counts
                                .get(&c.org_id)
                                .and_then(|m| m.get(&s))
                                .copied()
                                .unwrap_or(0)
                        };
                        let own = jobs.remove(&name).unwrap_or_default();
                        let held_jobs: Vec<String> = own
                            .iter()
                            .filter(|j| j.status == JobStatus::Held)
                            .map(|j| j.id.clone())
                            .collect();
                        let active_job =
                            own.iter()
                                .find(|j| j.status != JobStatus::Held)
                                .map(|j| ActiveJob {
                                    job_id: j.id.clone(),
                                    kind: j.kind,
                                    status: j.status,
                                    progress: j.progress.get().clone(),
                                });
                        let last = c.last_sync_on.map(micros_to_datetime);
                        ConnectionSummary {
                            provider: provider::find(&c.provider)
                                .map_or_else(|| c.provider.clone(), |p| p.name.to_owned()),
                            state: match c.state {
                                ConnectionState::Connected if !held_jobs.is_empty() => {
                                    ConnectionState::Held
                                }
                                s => s,
                            },
                            lag_seconds: last.map(|t| (now - t).num_seconds().max(0)),
                            last_sync_on: last,
                            pending: count(TxStatus::Pending),
                            errors: count(TxStatus::Error),
                            held_jobs,
                            active_job,
                            org: name,
                            provider_id: c.provider,
                            url: c.url,
                        }
                    })
                    .collect())
            })
            .await
    }

    /// `org`'s transactions counted by status.
    pub async fn transaction_counts(&self, org: &str) -> Result<TransactionCounts, EngineError> {
        let org = org.to_owned();
        self.db
            .run(move |conn| {
                let org = orgs::require(conn, &org)?;
                let counts = overview::transaction_counts(conn, &[org.id])?
                    .remove(&org.id)
                    .unwrap_or_default();
                let n = |s: TxStatus| counts.get(&s).copied().unwrap_or(0);
                Ok(TransactionCounts {
                    all: counts.values().sum(),
                    pending: n(TxStatus::Pending),
                    processed: n(TxStatus::Processed),
                    error: n(TxStatus::Error),
                    archived: n(TxStatus::Archived),
                })
            })
            .await
    }
}
