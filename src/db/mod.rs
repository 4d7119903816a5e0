//! Storage: one pool over SQLite or PostgreSQL, picked by the URL, with embedded migrations per
//! backend. Diesel is synchronous, so every database call goes through [`Db::run`], which moves
//! it off the async runtime and keeps the caller's tracing span.

/// Runs the same diesel code on the concrete connection of each backend, for the few
/// statements (upserts, `SKIP LOCKED`) that diesel's multi-backend DSL does not carry.
macro_rules! per_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConn::Pg($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}

pub mod batches;
mod bulk;
pub mod changes;
mod checkpoint;
pub mod conflicts;
pub mod connections;
pub mod digests;
pub mod error;
pub mod idempotency;
pub mod job_log;
pub mod jobs;
pub mod metadata;
pub mod orgs;
pub mod overview;
pub mod quarantine;
pub mod records;
pub mod schema;
pub mod snapshots;
pub mod staged;
pub mod timeline;
pub mod transactions;
pub mod types;
pub mod users;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::Backend;
pub use error::{DbError, DbResult};
pub use types::Json;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend; queries written once with diesel's DSL run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Opens connections of the configured backend, with SQLite's pragmas applied to each.
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
    /// SQLite: the WAL size at which a writer checkpoints itself (see [`checkpoint`]).
    writer_checkpoint_pages: u32,
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConn, r2d2::Error> {
        match &self.backend {
            Backend::Postgres(url) => {
                let mut conn =
                    PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                // Prepared statements are reused across very different tables sizes (a new
                // org's records grow from nothing): a generic plan chosen early would keep
                // scanning by (org, entity) alone. Plan each execution for its values.
                conn.batch_execute("SET plan_cache_mode = force_custom_plan")
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Pg(conn))
            }
            Backend::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 15000; PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = {};",
                    self.writer_checkpoint_pages
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), r2d2::Error> {
        conn.ping().map(|_| ()).map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// The shared database handle of the app.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    is_postgres: bool,
    /// Held by every handle: the background checkpoint of a SQLite file stops with the last.
    _alive: std::sync::Arc<()>,
}

impl Db {
    /// Opens the pool (creating the SQLite file's folder) and applies pending migrations.
    pub fn connect(url: &str, max_connections: u32) -> Result<Self, String> {
        let backend = Backend::from_url(url)?;
        if let Backend::Sqlite(path) = &backend {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
        }
        let is_postgres = matches!(backend, Backend::Postgres(_));
        let alive = std::sync::Arc::new(());
        // An in-memory database is one per connection: nothing to checkpoint.
        let file = match &backend {
            Backend::Sqlite(path) if path.as_os_str() != ":memory:" => Some(path.clone()),
            _ => None,
        };
        let writer_checkpoint_pages = if file.is_some() {
            checkpoint::WRITER_PAGES
        } else {
            1000
        };
        let pool = r2d2::Pool::builder()
            .max_size(max_connections.max(2))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(Manager {
                backend,
                writer_checkpoint_pages,
            })
            .map_err(|e| format!("cannot open the database: {e}"))?;
        if let Some(path) = file {
            checkpoint::spawn(path, std::sync::Arc::downgrade(&alive));
        }
        let db = Self {
            pool,
            is_postgres,
            _alive: alive,
        };
        db.migrate()?;
        Ok(db)
    }

    /// Applies the embedded migrations of the backend.
    pub fn migrate(&self) -> Result<(), String> {
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        let migrations = self.migrations();
        conn.run_pending_migrations(migrations)
            .map(|_| ())
            .map_err(|e| format!("migrations failed: {e}"))
    }

    fn migrations(&self) -> EmbeddedMigrations {
        if self.is_postgres {
            POSTGRES_MIGRATIONS
        } else {
            SQLITE_MIGRATIONS
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.is_postgres
    }

    /// Runs blocking database work on the blocking pool, in the caller's span. The work's
    /// error type is the caller's: anything storage gives (`DbError`) converts into it.
    pub async fn run<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        actix_web::web::block(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(|e| DbError::Pool(e.to_string()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| E::from(DbError::Pool(format!("the blocking pool failed: {e}"))))?
    }

    /// A connection for synchronous callers (the CLI, background loops already off the runtime).
    pub fn get(&self) -> DbResult<r2d2::PooledConnection<Manager>> {
        self.pool.get().map_err(|e| DbError::Pool(e.to_string()))
    }

    /// True when the database answers and no migration is pending.
    pub async fn ready(&self) -> DbResult<()> {
        let migrations = self.migrations();
        self.run(move |conn| {
            let pending = conn
                .has_pending_migration(migrations)
                .map_err(|e| DbError::Pool(format!("cannot read migrations: {e}")))?;
            if pending {
                Err(DbError::Pool("migrations are pending".to_owned()))
            } else {
                Ok(())
            }
        })
        .await
    }
}

/// Runs `f` in a write transaction. On SQLite it begins `IMMEDIATE`, so the write lock is taken
/// up front and two writers queue on the busy timeout instead of failing on lock upgrade; on
/// PostgreSQL it is an ordinary transaction. Nested `conn.transaction` calls become savepoints.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            let committed = match conn {
                DbConn::Sqlite(c) => AnsiTransactionManager::commit_transaction(c),
                DbConn::Pg(c) => AnsiTransactionManager::commit_transaction(c),
            };
            if let Err(e) = committed {
                rollback(conn);
                return Err(e.into());
            }
            Ok(value)
        }
        Err(e) => {
            rollback(conn);
            Err(e)
        }
    }
}

fn rollback(conn: &mut DbConn) {
    let result = match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
        DbConn::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
    };
    if let Err(e) = result {
        // The pool drops a connection left inside a transaction (has_broken), so this is safe.
        tracing::warn!(error = %e, "rollback failed");
    }
}

/// Microseconds since the Unix epoch, the unit of every stored time.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// A stored time on the wire (RFC 3339, UTC).
pub fn micros_to_datetime(micros: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// A new immutable id for an org or a user (never reused, unlike a row id).
pub fn new_uid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
