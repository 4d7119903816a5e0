//! Reading the change log: its pages of changes, where a full read hands over to it, and its
//! pruning after the tombstone retention, with the horizon that tells a reader it fell behind.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::BigInt;
use diesel::sqlite::SqliteConnection;
use diesel::{sql_query, QueryResult, QueryableByName, RunQueryDsl};

use diesel::sql_types::Text;

use super::capture::{quote, HORIZON_TABLE, LOG_TABLE};

/// One captured change: the record's table and id; `deleted` when the row is gone (else it
/// was inserted or updated: the row as it is now is what counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub table: String,
    pub record_id: String,
    pub deleted: bool,
}

/// Where a reader of the log stands: the last row taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// PostgreSQL: the transaction id of the last row taken (0 on SQLite).
    pub txid: i64,
    pub seq: i64,
}

impl Position {
    pub fn token(self) -> String {
        format!("{}.{}", self.txid, self.seq)
    }
    pub fn parse(token: &str) -> Option<Self> {
        let (txid, seq) = token.split_once('.')?;
        Some(Self {
            txid: txid.parse().ok().filter(|v| *v >= 0)?,
            seq: seq.parse().ok().filter(|v| *v >= 0)?,
        })
    }
}

#[derive(QueryableByName)]
struct LogRow {
    #[diesel(sql_type = BigInt)]
    txid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    record_id: String,
    #[diesel(sql_type = Text)]
    op: String,
}

fn changes_of(rows: Vec<LogRow>, after: Position) -> (Vec<Change>, Position) {
    let end = rows.last().map_or(after, |r| Position {
        txid: r.txid,
        seq: r.seq,
    });
    let changes = rows
        .into_iter()
        .map(|r| Change {
            table: r.table_name,
            record_id: r.record_id,
            deleted: r.op == "D",
        })
        .collect();
    (changes, end)
}

/// Up to `limit` changes of `table` after `after` of finished transactions, but those `reader`
/// wrote itself, with the position after them.
pub fn read_postgres(
    conn: &mut PgConnection,
    schema: &str,
    table: &str,
    reader: &str,
    after: Position,
    limit: i64,
) -> QueryResult<(Vec<Change>, Position)> {
    let rows: Vec<LogRow> = sql_query(format!(
        "SELECT txid::text::bigint AS txid, seq, table_name, record_id, op::text AS op \
         FROM {}.{LOG_TABLE} \
         WHERE table_name = $1 AND (txid, seq) > ($2::text::xid8, $3) \
           AND txid < pg_snapshot_xmin(pg_current_snapshot()) \
           AND writer IS DISTINCT FROM $5 \
         ORDER BY txid, seq LIMIT $4",
        quote(schema)
    ))
    .bind::<Text, _>(table)
    .bind::<BigInt, _>(after.txid)
    .bind::<BigInt, _>(after.seq)
    .bind::<BigInt, _>(limit)
    .bind::<Text, _>(reader)
    .load(conn)?;
    Ok(changes_of(rows, after))
}

/// Up to `limit` changes of `table` after `after`, but those `reader` wrote itself, with the
/// position after them.
pub fn read_sqlite(
    conn: &mut SqliteConnection,
    table: &str,
    reader: &str,
    after: Position,
    limit: i64,
) -> QueryResult<(Vec<Change>, Position)> {
    let rows: Vec<LogRow> = sql_query(format!(
        "SELECT 0 AS txid, seq, table_name, record_id, op FROM {LOG_TABLE} \
         WHERE table_name = ? AND seq > ? AND (writer IS NULL OR writer <> ?) \
         ORDER BY seq LIMIT ?"
    ))
    .bind::<Text, _>(table)
    .bind::<BigInt, _>(after.seq)
    .bind::<Text, _>(reader)
    .bind::<BigInt, _>(limit)
    .load(conn)?;
    Ok(changes_of(rows, after))
}

#[derive(QueryableByName)]
struct At {
    #[diesel(sql_type = BigInt)]
    txid: i64,
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

impl From<At> for Position {
    fn from(a: At) -> Self {
        Position {
            txid: a.txid,
            seq: a.seq,
        }
    }
}

/// The position a full read that starts now hands over at: every transaction older than the
/// oldest one still running is visible to the read, and every later one lies after it.
pub fn start_postgres(conn: &mut PgConnection) -> QueryResult<Position> {
    sql_query(
        "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1 AS txid, \
         9223372036854775807::bigint AS seq",
    )
    .get_result::<At>(conn)
    .map(Position::from)
}

/// On SQLite writers are serialized: the last sequence given out is where a read begins.
pub fn start_sqlite(conn: &mut SqliteConnection) -> QueryResult<Position> {
    sql_query(format!(
        "SELECT 0 AS txid, max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = '{LOG_TABLE}'), 0), \
                               (SELECT seq FROM {HORIZON_TABLE})) AS seq"
    ))
    .get_result::<At>(conn)
    .map(Position::from)
}

/// The newest position pruned away: a reader behind it may have missed changes.
pub fn horizon_postgres(conn: &mut PgConnection, schema: &str) -> QueryResult<Position> {
    sql_query(format!(
        "SELECT txid, seq FROM {}.{HORIZON_TABLE}",
        quote(schema)
    ))
    .get_result::<At>(conn)
    .map(Position::from)
}

pub fn horizon_sqlite(conn: &mut SqliteConnection) -> QueryResult<Position> {
    sql_query(format!("SELECT txid, seq FROM {HORIZON_TABLE}"))
        .get_result::<At>(conn)
        .map(Position::from)
}

/// Removes the changes older than `retention_secs` of finished transactions, moving the
/// horizon up to the newest of them.
pub fn prune_postgres(
    conn: &mut PgConnection,
    schema: &str,
    retention_secs: i64,
) -> QueryResult<()> {
    let s = quote(schema);
    sql_query(format!(
        "WITH gone AS (DELETE FROM {s}.{LOG_TABLE} \
                       WHERE at < now() - $1 * interval '1 second' \
                         AND txid < pg_snapshot_xmin(pg_current_snapshot()) \
                       RETURNING txid::text::bigint AS txid, seq), \
              top AS (SELECT txid, seq FROM gone ORDER BY txid DESC, seq DESC LIMIT 1) \
         UPDATE {s}.{HORIZON_TABLE} h SET txid = top.txid, seq = top.seq FROM top \
         WHERE (top.txid, top.seq) > (h.txid, h.seq)"
    ))
    .bind::<BigInt, _>(retention_secs)
    .execute(conn)
    .map(|_| ())
}

pub fn prune_sqlite(conn: &mut SqliteConnection, retention_secs: i64) -> QueryResult<()> {
    let cutoff = format!("strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{retention_secs} seconds')");
    conn.immediate_transaction(|conn| {
        conn.batch_execute(&format!(
            "UPDATE {HORIZON_TABLE} SET seq = max(seq, \
                 coalesce((SELECT max(seq) FROM {LOG_TABLE} WHERE at < {cutoff}), 0)); \
             DELETE FROM {LOG_TABLE} WHERE at < {cutoff};"
        ))
    })
}
