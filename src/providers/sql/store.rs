//! The external database itself: one connection to PostgreSQL or SQLite, and the few
//! statements the provider runs on any table. Rows are read as JSON text built by the
//! database (`row_to_json` on PostgreSQL, `json_object` on SQLite), so one fixed-shape query
//! serves every table, and values are written from a JSON object the database reads by the
//! table's own column types (`json_populate_record`, `json_extract`), so a `numeric` keeps
//! every digit and nothing is formatted by hand.

use std::net::ToSocketAddrs;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{sql_query, Connection, QueryResult, QueryableByName, RunQueryDsl};

use super::capture::{self, quote, Captured, Change, Position};
use super::catalog::{self, Table};
use super::log;
use super::pushdown::Dialect;
use super::url::Target;
use crate::domain::policy::BackendPolicy;
use crate::providers::ProviderError;

/// A connection to the external database.
pub enum Store {
    Postgres {
        conn: Box<PgConnection>,
        schema: String,
    },
    Sqlite(Box<SqliteConnection>),
}

/// Where an entity's rows are: its table, key column and the columns mapped to attributes.
#[derive(Debug, Clone)]
pub struct Shape {
    pub table: String,
    pub key: String,
    /// The key is a whole number (its id on the wire is the number's text).
    pub numeric_key: bool,
    /// The mapped columns, the key first.
    pub columns: Vec<String>,
}

#[derive(QueryableByName)]
struct JsonRow {
    #[diesel(sql_type = Text)]
    row: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The database's own sentence for a failed statement.
pub fn message(e: &diesel::result::Error) -> String {
    match e {
        diesel::result::Error::DatabaseError(_, info) => info.message().to_owned(),
        other => other.to_string(),
    }
}

/// What a failed statement means for the job: a lost connection is worth another try,
/// anything else is the database refusing.
pub fn failed(e: diesel::result::Error) -> ProviderError {
    use diesel::result::{DatabaseErrorKind, Error};
    match &e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | Error::BrokenTransactionManager => {
            ProviderError::Unavailable(format!("the database connection was lost: {}", message(&e)))
        }
        _ => ProviderError::Rejected {
            code: "database_error".to_owned(),
            message: message(&e),
        },
    }
}

/// A libpq keyword value, quoted.
fn conninfo_value(v: &str) -> String {
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Store {
    /// Opens the database a connection names: PostgreSQL at an address the backend policy
    /// permits (the name is resolved here and the address given to libpq, so it cannot
    /// resolve elsewhere), or an existing SQLite file.
    pub fn open(
        target: &Target,
        user: &str,
        password: &str,
        timeout: Duration,
        policy: &BackendPolicy,
    ) -> Result<Self, ProviderError> {
        match target {
            Target::Sqlite { path } => {
                if !path.is_file() {
                    return Err(ProviderError::NotFound {
                        code: "database_not_found".to_owned(),
                        message: format!("there is no SQLite database at {}", path.display()),
                    });
                }
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON;",
                    timeout.as_millis()
                ))
                .map_err(failed)?;
                Ok(Self::Sqlite(Box::new(conn)))
            }
            Target::Postgres { url, schema } => {
                let parsed = reqwest::Url::parse(url).map_err(|e| ProviderError::Setup {
                    code: crate::domain::error::Code::InvalidUrl,
                    message: e.to_string(),
                })?;
                let host = parsed
                    .host_str()
                    .unwrap_or_default()
                    .trim_matches(['[', ']']);
                let port = parsed.port().unwrap_or(5432);
                let database = parsed.path().trim_start_matches('/');
                let unreachable = || {
                    ProviderError::Unavailable(format!(
                        "the database at {host}:{port} cannot be reached"
                    ))
                };
                let address = (host, port)
                    .to_socket_addrs()
                    .map_err(|_| unreachable())?
                    .find(|a| policy.permits(host, a.ip()))
                    .ok_or_else(unreachable)?;
                let info = format!(
                    "host={} hostaddr={} port={port} dbname={} user={} password={} \
                     connect_timeout={} application_name=orgsync",
                    conninfo_value(host),
                    address.ip(),
                    conninfo_value(database),
                    conninfo_value(user),
                    conninfo_value(password),
                    timeout.as_secs().max(2),
                );
                let mut conn = PgConnection::establish(&info).map_err(|e| {
                    let text = e.to_string();
                    if text.contains("authentication failed") || text.contains("role \"") {
                        ProviderError::Auth(
                            "the database refused the user name or password".to_owned(),
                        )
                    } else if text.contains("does not exist") {
                        ProviderError::NotFound {
                            code: "database_not_found".to_owned(),
                            message: format!(
                                "database '{database}' does not exist at {host}:{port}"
                            ),
                        }
                    } else {
                        unreachable()
                    }
                })?;
                conn.batch_execute(&format!(
                    "SET TIME ZONE 'UTC'; SET statement_timeout = {}",
                    timeout.as_millis()
                ))
                .map_err(failed)?;
                Ok(Self::Postgres {
                    conn: Box::new(conn),
                    schema: schema.clone(),
                })
            }
        }
    }

    /// The tables of the database (of its schema, on PostgreSQL).
    pub fn tables(&mut self) -> QueryResult<Vec<Table>> {
        match self {
            Self::Postgres { conn, schema } => {
                let found = catalog::read_postgres(conn, schema)?;
                if found.is_empty() {
                    // An empty result and a missing schema look alike: say which.
                    let n: Count =
                        sql_query("SELECT count(*) AS n FROM pg_namespace WHERE nspname = $1")
                            .bind::<Text, _>(schema.as_str())
                            .get_result(conn.as_mut())?;
                    if n.n == 0 {
                        return Err(diesel::result::Error::NotFound);
                    }
                }
                Ok(found)
            }
            Self::Sqlite(conn) => catalog::read_sqlite(conn),
        }
    }

    /// The statements that install change capture for `tables`.
    pub fn install_statements(&self, tables: &[Captured]) -> Vec<String> {
        match self {
            Self::Postgres { schema, .. } => capture::postgres_install(schema, tables),
            Self::Sqlite(_) => capture::sqlite_install(tables),
        }
    }

    pub fn install(&mut self, tables: &[Captured]) -> QueryResult<()> {
        let statements = self.install_statements(tables);
        match self {
            Self::Postgres { conn, .. } => capture::run_all(conn.as_mut(), &statements),
            Self::Sqlite(conn) => capture::run_all(conn.as_mut(), &statements),
        }
    }

    /// Removes every object change capture made, on whichever tables it is.
    pub fn uninstall(&mut self) -> QueryResult<()> {
        match self {
            Self::Postgres { conn, schema } => {
                capture::run_all(conn.as_mut(), &capture::postgres_drop(schema, &[]))
            }
            Self::Sqlite(conn) => {
                let triggers: Vec<JsonRow> = sql_query(
                    "SELECT name AS row FROM sqlite_schema WHERE type = 'trigger' \
                     AND name LIKE 'orgsync\\_capture\\_%' ESCAPE '\\'",
                )
                .load(conn.as_mut())?;
                let mut statements: Vec<String> = triggers
                    .into_iter()
                    .map(|t| format!("DROP TRIGGER IF EXISTS {}", quote(&t.row)))
                    .collect();
                statements.extend(capture::sqlite_drop(&[]));
                capture::run_all(conn.as_mut(), &statements)
            }
        }
    }

    /// Where a full read starting now hands over to the change log.
    pub fn start(&mut self) -> QueryResult<Position> {
        match self {
            Self::Postgres { conn, .. } => log::start_postgres(conn),
            Self::Sqlite(conn) => log::start_sqlite(conn),
        }
    }

    pub fn horizon(&mut self) -> QueryResult<Position> {
        match self {
            Self::Postgres { conn, schema } => log::horizon_postgres(conn, schema),
            Self::Sqlite(conn) => log::horizon_sqlite(conn),
        }
    }

    pub fn prune(&mut self, retention_secs: i64) -> QueryResult<()> {
        match self {
            Self::Postgres { conn, schema } => log::prune_postgres(conn, schema, retention_secs),
            Self::Sqlite(conn) => log::prune_sqlite(conn, retention_secs),
        }
    }

    /// Up to `limit` changes of `table` after `after`, but `reader`'s own.
    pub fn changes(
        &mut self,
        table: &str,
        reader: &str,
        after: Position,
        limit: i64,
    ) -> QueryResult<(Vec<Change>, Position)> {
        match self {
            Self::Postgres { conn, schema } => {
                capture::read_postgres(conn, schema, table, reader, after, limit)
            }
            Self::Sqlite(conn) => capture::read_sqlite(conn, table, reader, after, limit),
        }
    }

    /// The table's name as a statement writes it.
    fn table(&self, shape: &Shape) -> String {
        match self {
            Self::Postgres { schema, .. } => format!("{}.{}", quote(schema), quote(&shape.table)),
            Self::Sqlite(_) => quote(&shape.table),
        }
    }

    /// The select list that makes a row's mapped columns one JSON object.
    fn row_json(&self, shape: &Shape, alias: &str) -> String {
        match self {
            Self::Postgres { .. } => format!("row_to_json({alias})::text"),
            Self::Sqlite(_) => {
                let pairs: Vec<String> = shape
                    .columns
                    .iter()
                    .map(|c| format!("'{c}', {alias}.{}", quote(c)))
                    .collect();
                format!("json_object({})", pairs.join(", "))
            }
        }
    }

    /// The mapped columns of a table, for PostgreSQL's subselect.
    fn columns(shape: &Shape, alias: &str) -> String {
        shape
            .columns
            .iter()
            .map(|c| format!("{alias}.{}", quote(c)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Which dialect a pushed-down filter is written in.
    pub fn dialect(&self) -> Dialect {
        match self {
            Self::Postgres { .. } => Dialect::Postgres,
            Self::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Up to `limit` rows in key order after the row whose key `after` holds (a JSON object
    /// `{key: value}`) and, when given, that meet `condition` (on the table aliased `t`),
    /// each as JSON text.
    pub fn page(
        &mut self,
        shape: &Shape,
        after: Option<&str>,
        condition: Option<&str>,
        limit: i64,
    ) -> QueryResult<Vec<String>> {
        let also = condition.map_or(String::new(), |c| format!(" AND {c}"));
        let table = self.table(shape);
        let key = quote(&shape.key);
        let json = self.row_json(shape, "t");
        let rows: Vec<JsonRow> = match self {
            Self::Postgres { conn, .. } => {
                let from = match after {
                    Some(_) => format!(
                        "WHERE t.{key} > (SELECT r.{key} FROM json_populate_record(NULL::{table}, $1::json) r){also}"
                    ),
                    None => format!("WHERE $1::text IS NULL{also}"),
                };
                sql_query(format!(
                    "SELECT row_to_json(x)::text AS row FROM \
                     (SELECT {} FROM {table} t {from} ORDER BY t.{key} LIMIT $2) x",
                    Self::columns(shape, "t")
                ))
                .bind::<diesel::sql_types::Nullable<Text>, _>(after)
                .bind::<BigInt, _>(limit)
                .load(conn.as_mut())?
            }
            Self::Sqlite(conn) => {
                let from = match after {
                    Some(_) => format!("WHERE t.{key} > json_extract(?1, '$.{}'){also}", shape.key),
                    None => format!("WHERE ?1 IS NULL{also}"),
                };
                sql_query(format!(
                    "SELECT {json} AS row FROM {table} t {from} ORDER BY t.{key} LIMIT ?2"
                ))
                .bind::<diesel::sql_types::Nullable<Text>, _>(after)
                .bind::<BigInt, _>(limit)
                .load(conn.as_mut())?
            }
        };
        Ok(rows.into_iter().map(|r| r.row).collect())
    }

    /// The rows whose keys `keys` holds (a JSON array of objects `{key: value}`), as JSON text.
    pub fn rows(&mut self, shape: &Shape, keys: &str) -> QueryResult<Vec<String>> {
        let table = self.table(shape);
        let key = quote(&shape.key);
        let json = self.row_json(shape, "t");
        let rows: Vec<JsonRow> = match self {
            Self::Postgres { conn, .. } => sql_query(format!(
                "SELECT row_to_json(x)::text AS row FROM (SELECT {} FROM {table} t \
                 WHERE t.{key} IN (SELECT r.{key} FROM json_populate_recordset(NULL::{table}, $1::json) r)) x",
                Self::columns(shape, "t")
            ))
            .bind::<Text, _>(keys)
            .load(conn.as_mut())?,
            Self::Sqlite(conn) => sql_query(format!(
                "SELECT {json} AS row FROM {table} t \
                 WHERE t.{key} IN (SELECT json_extract(value, '$.{}') FROM json_each(?1))",
                shape.key
            ))
            .bind::<Text, _>(keys)
            .load(conn.as_mut())?,
        };
        Ok(rows.into_iter().map(|r| r.row).collect())
    }

    pub fn count(&mut self, shape: &Shape) -> QueryResult<i64> {
        let query = format!("SELECT count(*) AS n FROM {}", self.table(shape));
        let n: Count = match self {
            Self::Postgres { conn, .. } => sql_query(query).get_result(conn.as_mut())?,
            Self::Sqlite(conn) => sql_query(query).get_result(conn.as_mut())?,
        };
        Ok(n.n)
    }
}
