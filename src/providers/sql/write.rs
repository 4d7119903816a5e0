//! Client writes into the external database: one database transaction per batch, marked as
//! orgsync's own so the triggers do not echo it back, with the batch's Idempotency-Key and
//! answer stored in that same transaction (a replay gets the stored answer and writes
//! nothing). Each operation runs in a savepoint: a row that breaks a constraint fails alone,
//! with the database's message.

use std::collections::HashMap;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::sqlite::SqliteConnection;
use diesel::{sql_query, Connection, OptionalExtension, QueryResult, QueryableByName, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::capture::{
    postgres_ours, quote, sqlite_ours, BATCHES_TABLE, LOG_TABLE, SQLITE_OURS_END,
};
use super::store::{failed, message, Shape, Store};
use super::values::{altered, key_object, record_of, row_object, version_of};
use crate::domain::error::Code;
use crate::domain::metadata::EntityDef;
use crate::providers::{ProviderError, Written};
use crate::wire::batch::{BatchOp, BatchOperation};

/// The entities the provider serves, by name.
pub type Entities = HashMap<String, (EntityDef, Shape)>;

/// An answer as the batches table keeps it.
#[derive(Serialize, Deserialize)]
enum Kept {
    Applied(Option<i64>),
    NotFound(String, String),
    Stale,
    Refused(String, String),
}

impl From<&Written> for Kept {
    fn from(w: &Written) -> Self {
        match w.clone() {
            Written::Applied { version } => Kept::Applied(version),
            Written::NotFound { code, message } => Kept::NotFound(code, message),
            Written::Stale => Kept::Stale,
            Written::Refused { code, message } => Kept::Refused(code, message),
        }
    }
}

impl From<Kept> for Written {
    fn from(k: Kept) -> Self {
        match k {
            Kept::Applied(version) => Written::Applied { version },
            Kept::NotFound(code, message) => Written::NotFound { code, message },
            Kept::Stale => Written::Stale,
            Kept::Refused(code, message) => Written::Refused { code, message },
        }
    }
}

#[derive(QueryableByName)]
struct Text1 {
    #[diesel(sql_type = Text)]
    row: String,
}

#[derive(QueryableByName)]
struct KeptRow {
    #[diesel(sql_type = Text)]
    request: String,
    #[diesel(sql_type = Text)]
    answer: String,
}

/// The statements a write needs, per database.
trait Dialect: Connection + SimpleConnection {
    /// Marks the transaction's writes as `writer`'s own.
    fn ours(writer: &str) -> String;
    /// Ends that mark before the commit (SQLite; PostgreSQL's ends with the transaction).
    const OURS_END: &'static str;
    fn current(&mut self, table: &str, shape: &Shape, key: &str) -> QueryResult<Option<String>>;
    fn upsert(
        &mut self,
        table: &str,
        shape: &Shape,
        row: &str,
        columns: &[&str],
    ) -> QueryResult<()>;
    fn delete(&mut self, table: &str, shape: &Shape, key: &str) -> QueryResult<usize>;
    fn kept(&mut self, batches: &str, key: &str) -> QueryResult<Option<KeptRow>>;
    /// Logs a change of the record by hand (the triggers ignore orgsync's own writes).
    fn log(&mut self, log: &str, table: &str, id: &str) -> QueryResult<()>;
    fn keep(&mut self, batches: &str, key: &str, request: &str, answer: &str) -> QueryResult<()>;
    fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, diesel::result::Error>,
    ) -> Result<T, diesel::result::Error>;
}

fn set_list(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("{0} = excluded.{0}", quote(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn on_conflict(shape: &Shape, columns: &[&str]) -> String {
    let updated: Vec<&str> = columns
        .iter()
        .copied()
        .filter(|c| *c != shape.key)
        .collect();
    if updated.is_empty() {
        format!("ON CONFLICT ({}) DO NOTHING", quote(&shape.key))
    } else {
        format!(
            "ON CONFLICT ({}) DO UPDATE SET {}",
            quote(&shape.key),
            set_list(&updated)
        )
    }
}

impl Dialect for PgConnection {
    const OURS_END: &'static str = "";

    fn ours(writer: &str) -> String {
        postgres_ours(writer)
    }

    fn current(&mut self, table: &str, shape: &Shape, key: &str) -> QueryResult<Option<String>> {
        let k = quote(&shape.key);
        let columns: Vec<String> = shape
            .columns
            .iter()
            .map(|c| format!("t.{}", quote(c)))
            .collect();
        sql_query(format!(
            "SELECT row_to_json(x)::text AS row FROM (SELECT {} FROM {table} t \
             WHERE t.{k} = (SELECT r.{k} FROM json_populate_record(NULL::{table}, $1::json) r) \
             FOR UPDATE) x",
            columns.join(", ")
        ))
        .bind::<Text, _>(key)
        .get_result::<Text1>(self)
        .optional()
        .map(|r| r.map(|r| r.row))
    }

    fn upsert(
        &mut self,
        table: &str,
        shape: &Shape,
        row: &str,
        columns: &[&str],
    ) -> QueryResult<()> {
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let list = list.join(", ");
        sql_query(format!(
            "INSERT INTO {table} ({list}) SELECT {list} FROM json_populate_record(NULL::{table}, $1::json) {}",
            on_conflict(shape, columns)
        ))
        .bind::<Text, _>(row)
        .execute(self)
        .map(|_| ())
    }

    fn delete(&mut self, table: &str, shape: &Shape, key: &str) -> QueryResult<usize> {
        let k = quote(&shape.key);
        sql_query(format!(
            "DELETE FROM {table} WHERE {k} = (SELECT r.{k} FROM json_populate_record(NULL::{table}, $1::json) r)"
        ))
        .bind::<Text, _>(key)
        .execute(self)
    }

    fn log(&mut self, log: &str, table: &str, id: &str) -> QueryResult<()> {
        sql_query(format!(
            "INSERT INTO {log} (table_name, record_id, op) VALUES ($1, $2, 'U')"
        ))
        .bind::<Text, _>(table)
        .bind::<Text, _>(id)
        .execute(self)
        .map(|_| ())
    }

    fn kept(&mut self, batches: &str, key: &str) -> QueryResult<Option<KeptRow>> {
        sql_query(format!(
            "SELECT request, answer FROM {batches} WHERE key = $1"
        ))
        .bind::<Text, _>(key)
        .get_result(self)
        .optional()
    }

    fn keep(&mut self, batches: &str, key: &str, request: &str, answer: &str) -> QueryResult<()> {
        sql_query(format!(
            "INSERT INTO {batches} (key, request, answer) VALUES ($1, $2, $3)"
        ))
        .bind::<Text, _>(key)
        .bind::<Text, _>(request)
        .bind::<Text, _>(answer)
        .execute(self)
        .map(|_| ())
    }

    fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, diesel::result::Error>,
    ) -> Result<T, diesel::result::Error> {
        self.transaction(f)
    }
}

impl Dialect for SqliteConnection {
    const OURS_END: &'static str = SQLITE_OURS_END;

    fn ours(writer: &str) -> String {
        sqlite_ours(writer)
    }

    fn current(&mut self, table: &str, shape: &Shape, key: &str) -> QueryResult<Option<String>> {
        let pairs: Vec<String> = shape
            .columns
            .iter()
            .map(|c| format!("'{c}', t.{}", quote(c)))
            .collect();
        sql_query(format!(
            "SELECT json_object({}) AS row FROM {table} t WHERE t.{} = json_extract(?1, '$.{}')",
            pairs.join(", "),
            quote(&shape.key),
            shape.key
        ))
        .bind::<Text, _>(key)
        .get_result::<Text1>(self)
        .optional()
        .map(|r| r.map(|r| r.row))
    }

    fn upsert(
        &mut self,
        table: &str,
        shape: &Shape,
        row: &str,
        columns: &[&str],
    ) -> QueryResult<()> {
        let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let values: Vec<String> = columns
            .iter()
            .map(|c| format!("json_extract(?1, '$.{c}')"))
            .collect();
        // `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON.
        sql_query(format!(
            "INSERT INTO {table} ({}) SELECT {} WHERE true {}",
            list.join(", "),
            values.join(", "),
            on_conflict(shape, columns)
        ))
        .bind::<Text, _>(row)
        .execute(self)
        .map(|_| ())
    }

    fn delete(&mut self, table: &str, shape: &Shape, key: &str) -> QueryResult<usize> {
        sql_query(format!(
            "DELETE FROM {table} WHERE {} = json_extract(?1, '$.{}')",
            quote(&shape.key),
            shape.key
        ))
        .bind::<Text, _>(key)
        .execute(self)
    }

    fn log(&mut self, log: &str, table: &str, id: &str) -> QueryResult<()> {
        sql_query(format!(
            "INSERT INTO {log} (table_name, record_id, op) VALUES (?, ?, 'U')"
        ))
        .bind::<Text, _>(table)
        .bind::<Text, _>(id)
        .execute(self)
        .map(|_| ())
    }

    fn kept(&mut self, batches: &str, key: &str) -> QueryResult<Option<KeptRow>> {
        sql_query(format!(
            "SELECT request, answer FROM {batches} WHERE key = ?"
        ))
        .bind::<Text, _>(key)
        .get_result(self)
        .optional()
    }

    fn keep(&mut self, batches: &str, key: &str, request: &str, answer: &str) -> QueryResult<()> {
        sql_query(format!(
            "INSERT INTO {batches} (key, request, answer) VALUES (?, ?, ?)"
        ))
        .bind::<Text, _>(key)
        .bind::<Text, _>(request)
        .bind::<Text, _>(answer)
        .execute(self)
        .map(|_| ())
    }

    fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, diesel::result::Error>,
    ) -> Result<T, diesel::result::Error> {
        // Taken for writing at once: no reader turns writer halfway through the batch.
        self.immediate_transaction(f)
    }
}

/// Why a batch was not written at all.
enum Stop {
    Db(diesel::result::Error),
    Reused,
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Db(e)
    }
}

/// Writes a batch once (see the module's words), as `writer`'s (the connection's) own.
pub fn write_batch(
    store: &mut Store,
    entities: &Entities,
    writer: &str,
    key: &str,
    operations: &[BatchOperation],
) -> Result<Vec<Written>, ProviderError> {
    let request = hex::encode(Sha256::digest(
        serde_json::to_string(operations)
            .unwrap_or_default()
            .as_bytes(),
    ));
    let outcome = match store {
        Store::Postgres { conn, schema } => {
            let prefix = format!("{}.", quote(schema));
            let batch = (key, request.as_str(), operations);
            run(conn.as_mut(), &prefix, entities, writer, batch)
        }
        Store::Sqlite(conn) => run(
            conn.as_mut(),
            "",
            entities,
            writer,
            (key, request.as_str(), operations),
        ),
    };
    match outcome {
        Ok(written) => Ok(written),
        Err(Stop::Db(e)) => Err(failed(e)),
        Err(Stop::Reused) => Err(ProviderError::Rejected {
            code: Code::IdempotencyKeyReused.as_str().to_owned(),
            message: format!("Idempotency-Key '{key}' was used for another batch"),
        }),
    }
}

/// A batch: its Idempotency-Key, the digest of its request, its operations.
type Batch<'a> = (&'a str, &'a str, &'a [BatchOperation]);

fn run<C: Dialect>(
    conn: &mut C,
    prefix: &str,
    entities: &Entities,
    writer: &str,
    (key, request, operations): Batch<'_>,
) -> Result<Vec<Written>, Stop> {
    let batches = format!("{prefix}{BATCHES_TABLE}");
    let mut outcome: Result<Vec<Written>, Stop> = Err(Stop::Reused);
    let committed = conn.in_transaction(|conn| {
        if let Some(kept) = conn.kept(&batches, key)? {
            outcome = if kept.request == request {
                let answer: Vec<Kept> = serde_json::from_str(&kept.answer)
                    .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
                Ok(answer.into_iter().map(Written::from).collect())
            } else {
                Err(Stop::Reused)
            };
            return Ok(());
        }
        conn.batch_execute(&C::ours(writer))?;
        let mut written = Vec::with_capacity(operations.len());
        for op in operations {
            written.push(one(conn, prefix, entities, op)?);
        }
        if !C::OURS_END.is_empty() {
            conn.batch_execute(C::OURS_END)?;
        }
        let kept: Vec<Kept> = written.iter().map(Kept::from).collect();
        let answer = serde_json::to_string(&kept).unwrap_or_default();
        conn.keep(&batches, key, request, &answer)?;
        outcome = Ok(written);
        Ok(())
    });
    committed?;
    outcome
}

/// One operation in its own savepoint: refused by the database, it is undone alone.
fn one<C: Dialect>(
    conn: &mut C,
    prefix: &str,
    entities: &Entities,
    op: &BatchOperation,
) -> QueryResult<Written> {
    let Some((def, shape)) = entities.get(&op.entity) else {
        return Ok(Written::NotFound {
            code: Code::EntityNotFound.as_str().to_owned(),
            message: format!("entity '{}' is not a table of this database", op.entity),
        });
    };
    let table = format!("{prefix}{}", quote(&shape.table));
    let key = Value::Object(key_object(shape, &op.id)).to_string();
    // Nested in the batch's transaction, diesel makes this a savepoint.
    let attempt = conn.transaction(|conn| -> QueryResult<Written> {
        let current = conn.current(&table, shape, &key)?;
        let version = |text: &str| record_of(def, shape, text).map(|(_, a)| version_of(&a));
        if let Some(wanted) = op.if_version {
            let now = match &current {
                Some(text) => version(text).unwrap_or(-1),
                None => 0,
            };
            if now != wanted {
                return Ok(Written::Stale);
            }
        }
        match op.op {
            BatchOp::Delete => {
                if conn.delete(&table, shape, &key)? == 0 {
                    return Ok(Written::NotFound {
                        code: Code::RecordNotFound.as_str().to_owned(),
                        message: format!(
                            "{} '{}' is not in table {}",
                            op.entity, op.id, shape.table
                        ),
                    });
                }
                Ok(Written::Applied { version: None })
            }
            BatchOp::Upsert => {
                let row = match row_object(shape, &op.id, op.attributes.as_ref()) {
                    // A new row takes the table's defaults for what it leaves empty: a null
                    // there means "no value", and a NOT NULL column with a default has one.
                    Ok(mut row) if current.is_none() => {
                        row.retain(|_, v| !v.is_null());
                        row
                    }
                    Ok(row) => row,
                    Err(message) => {
                        return Ok(Written::Refused {
                            code: Code::UnknownAttribute.as_str().to_owned(),
                            message,
                        })
                    }
                };
                let columns: Vec<&str> = row.keys().map(String::as_str).collect();
                conn.upsert(
                    &table,
                    shape,
                    &Value::Object(row.clone()).to_string(),
                    &columns,
                )?;
                let after = conn.current(&table, shape, &key)?;
                // What the database made of the row beyond the write goes back to the client
                // by the change log, like anyone else's change.
                if let Some(text) = after.as_deref() {
                    if altered(def, shape, current.as_deref(), text, &row) {
                        conn.log(&format!("{prefix}{LOG_TABLE}"), &shape.table, &op.id)?;
                    }
                }
                Ok(Written::Applied {
                    version: after.as_deref().and_then(|t| version(t).ok()),
                })
            }
        }
    });
    match attempt {
        Ok(written) => Ok(written),
        Err(e @ diesel::result::Error::DatabaseError(..)) => Ok(Written::Refused {
            code: "database_refused".to_owned(),
            message: message(&e),
        }),
        Err(e) => Err(e),
    }
}
