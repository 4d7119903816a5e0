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

pub mod changes;
pub mod connections;
pub mod idempotency;
pub mod jobs;
pub mod metadata;
pub mod orgs;
pub mod records;
pub mod schema;
pub mod transactions;
pub mod users;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::ApiError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend; queries written once with diesel's DSL run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Postgres(String),
    /// The SQLite file (or `:memory:`).
    Sqlite(PathBuf),
}

impl Backend {
    /// `postgres://…` / `postgresql://…` or `sqlite://path` / `sqlite:path` / a bare path.
    pub fn from_url(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(format!(
                "database URL '{url}' is neither postgres://… nor sqlite://PATH"
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// Opens connections of the configured backend, with SQLite's pragmas applied to each.
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
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
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 15000; PRAGMA foreign_keys = ON;",
                )
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
        let pool = r2d2::Pool::builder()
            .max_size(max_connections.max(2))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(Manager { backend })
            .map_err(|e| format!("cannot open the database: {e}"))?;
        let db = Self { pool, is_postgres };
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

    /// Runs blocking database work on the blocking pool, in the caller's span.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        actix_web::web::block(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(ApiError::pool)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))?
    }

    /// A connection for synchronous callers (the CLI, background loops already off the runtime).
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, ApiError> {
        self.pool.get().map_err(ApiError::pool)
    }

    /// True when the database answers and no migration is pending.
    pub async fn ready(&self) -> Result<(), ApiError> {
        let migrations = self.migrations();
        self.run(move |conn| {
            let pending = conn
                .has_pending_migration(migrations)
                .map_err(|e| ApiError::unavailable(format!("cannot read migrations: {e}")))?;
            if pending {
                Err(ApiError::unavailable("migrations are pending"))
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
