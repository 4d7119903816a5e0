//! Prometheus metrics: requests by method, route and status, jobs and their durations,
//! transactions, and per org its pending transactions and last sync.

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The route's pattern (`/rest/v1/orgs/{org}`), `unmatched` for a path no route takes.
    pub route: String,
    pub status: u16,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Histogram,
    /// Records written: by the API and batches, and by syncs and Get snapshots.
    pub records_written: Counter,
    /// Jobs in the queue by status, read from the database at each scrape.
    pub jobs: Family<JobLabels, Gauge>,
    /// Job runs that ended, by kind and outcome.
    pub job_runs: Family<JobRunLabels, Counter>,
    /// Client transactions by status, read from the database at each scrape (queue depth: Pending).
    pub transactions: Family<JobLabels, Gauge>,
    /// Jobs the delete guard held.
    pub held_jobs: Counter,
    /// Records kept in a job's quarantine before a delete or an overwrite.
    pub quarantined: Counter,
    /// How long job runs took, by kind.
    pub job_seconds: Family<KindLabels, Histogram>,
    /// Per org, read from the database at each scrape: its pending client transactions.
    pub org_pending: Family<OrgLabels, Gauge>,
    /// Per connected org, read at each scrape: when its last sync completed (Unix seconds).
    pub last_sync: Family<OrgLabels, Gauge>,
    /// Records `UndoDeletes` restored.
    pub restored: Counter,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OrgLabels {
    pub org: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobRunLabels {
    pub kind: String,
    pub outcome: String,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("orgsync");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by method and status",
            requests.clone(),
        );
        let request_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            request_seconds.clone(),
        );
        let records_written = Counter::default();
        registry.register(
            "records_written",
            "Records created, updated or deleted on this instance: by the API, batches, syncs and Get snapshots",
            records_written.clone(),
        );
        let jobs = Family::<JobLabels, Gauge>::default();
        registry.register("jobs", "Jobs by status (queue depth: Queued)", jobs.clone());
        let job_runs = Family::<JobRunLabels, Counter>::default();
        registry.register(
            "job_runs",
            "Job runs that ended, by kind and outcome",
            job_runs.clone(),
        );
        let transactions = Family::<JobLabels, Gauge>::default();
        registry.register(
            "transactions",
            "Client transactions by status (queue depth: Pending)",
            transactions.clone(),
        );
        let held_jobs = Counter::default();
        registry.register(
            "held_jobs",
            "Jobs the delete guard held until Approve or Cancel",
            held_jobs.clone(),
        );
        let quarantined = Counter::default();
        registry.register(
            "quarantined_records",
            "Records kept in a job's quarantine before a delete or an overwrite",
            quarantined.clone(),
        );
        let job_seconds = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.01, 2.0, 18))
        });
        registry.register(
            "job_duration_seconds",
            "How long job runs took, by kind",
            job_seconds.clone(),
        );
        let org_pending = Family::<OrgLabels, Gauge>::default();
        registry.register(
            "org_pending_transactions",
            "Client transactions waiting to be delivered, per org",
            org_pending.clone(),
        );
        let last_sync = Family::<OrgLabels, Gauge>::default();
        registry.register(
            "connection_last_sync_timestamp_seconds",
            "When the org's last sync completed (Unix seconds; the lag is now minus this)",
            last_sync.clone(),
        );
        let restored = Counter::default();
        registry.register(
            "restored_records",
            "Records UndoDeletes restored",
            restored.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            request_seconds,
            records_written,
            jobs,
            job_runs,
            transactions,
            held_jobs,
            quarantined,
            job_seconds,
            org_pending,
            last_sync,
            restored,
        }
    }
}

impl Metrics {
    /// Counts a record a job wrote to this instance (its log's action `Create`, `Update` or
    /// `Delete`).
    pub fn wrote(&self, action: &str) {
        if matches!(action, "Create" | "Update" | "Delete") {
            self.records_written.inc();
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            // Writing into a String cannot fail.
            let _ = encode(&mut out, &registry);
        }
        out
    }
}
