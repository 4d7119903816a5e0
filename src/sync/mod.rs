//! The engine: everything a connection does, whoever asks for it. The HTTP layer calls it for
//! the workflows a request starts (connect, change the connection, a client write, a conflict's
//! resolution) and the job kinds call it for the work a job does (connect, update metadata,
//! sync). It speaks domain and wire types, reaches storage through `db` and the backend
//! through a [`Provider`](crate::providers::Provider), and reports progress and log lines
//! through [`Report`], so it knows neither HTTP nor the worker that runs it.

mod change;
pub mod compare;
pub mod conflicts;
pub mod connect;
pub mod connection;
pub mod download;
pub mod error;
pub mod explain;
pub mod feed;
pub mod metadata;
pub mod outbox;
pub mod overview;
pub mod plan;
pub mod report;
pub mod run;
pub mod scope;
pub mod setup;
pub mod snapshot;
pub mod timeline;
pub mod undo;
pub mod upload;
pub mod write;

use std::sync::Arc;

use crate::config::Settings;
use crate::db::Db;
use crate::metrics::Metrics;

pub use error::EngineError;
pub use report::Report;

/// One pass of work on a connection: the engine, the job's report, the backend and the
/// client org.
#[derive(Clone, Copy)]
pub struct Pass<'a> {
    pub engine: &'a Engine,
    pub report: &'a dyn Report,
    pub provider: &'a dyn crate::providers::Provider,
    pub org_id: i64,
}

/// What the engine works with: the database, the settings and the metrics of the process.
#[derive(Clone)]
pub struct Engine {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
}

impl Engine {
    pub fn new(db: Db, settings: Arc<Settings>, metrics: Arc<Metrics>) -> Self {
        Self {
            db,
            settings,
            metrics,
        }
    }
}
