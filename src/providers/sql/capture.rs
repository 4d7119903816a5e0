//! Change capture in an external database: a change log table and AFTER INSERT/UPDATE/DELETE
//! triggers on the selected tables, created only with the admin's consent
//! (`InstallChangeCapture`), and the reader of that log.
//!
//! On PostgreSQL each change row records its top-level transaction id. A reader takes only
//! rows of transactions older than the oldest one still running (`pg_snapshot_xmin`), in
//! (transaction id, sequence) order: no row can appear later behind that point, so a
//! transaction that commits after a later one is read when it commits, never skipped. On
//! SQLite writers are serialized, so the sequence is the commit order.
//!
//! orgsync's own writes are not echoed: on PostgreSQL its transactions set `orgsync.writing`
//! locally to the writing connection's id, on SQLite they hold a row in `orgsync_writing`
//! naming it; the triggers record it as the change's writer, and that connection's reader
//! skips its own changes while every other connection on the same tables takes them.

use diesel::connection::SimpleConnection;
use diesel::QueryResult;

/// The change log table (and the prefix of every object orgsync creates there).
pub const LOG_TABLE: &str = "orgsync_change_log";
/// One row: the newest change log position pruned away; a reader behind it reads in full.
pub const HORIZON_TABLE: &str = "orgsync_change_horizon";
/// The batches written, by Idempotency-Key, with their answers.
pub const BATCHES_TABLE: &str = "orgsync_batches";
const TRIGGER: &str = "orgsync_capture";

/// A table to capture, with its one-column primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub table: String,
    pub key: String,
}

/// A double-quoted SQL identifier.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The statements that install change capture in a PostgreSQL schema, in order: what the
/// Connect job runs, and what its refusal without consent lists.
pub fn postgres_install(schema: &str, tables: &[Captured]) -> Vec<String> {
    let s = quote(schema);
    let mut out = vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.{LOG_TABLE} (\
             seq bigserial PRIMARY KEY, \
             txid xid8 NOT NULL DEFAULT pg_current_xact_id(), \
             table_name text NOT NULL, \
             record_id text NOT NULL, \
             op char(1) NOT NULL, \
             at timestamptz NOT NULL DEFAULT now(), \
             writer text)"
        ),
        format!(
            "CREATE INDEX IF NOT EXISTS {LOG_TABLE}_order ON {s}.{LOG_TABLE} (table_name, txid, seq)"
        ),
        // Pruning finds what is past the retention without reading the whole log.
        format!("CREATE INDEX IF NOT EXISTS {LOG_TABLE}_at ON {s}.{LOG_TABLE} (at)"),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.{HORIZON_TABLE} (\
             id int PRIMARY KEY CHECK (id = 1), txid bigint NOT NULL, seq bigint NOT NULL)"
        ),
        format!(
            "INSERT INTO {s}.{HORIZON_TABLE} VALUES (1, 0, 0) ON CONFLICT (id) DO NOTHING"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {s}.{BATCHES_TABLE} (\
             key text PRIMARY KEY, request text NOT NULL, answer text NOT NULL, \
             at timestamptz NOT NULL DEFAULT now())"
        ),
        format!(
            "CREATE OR REPLACE FUNCTION {s}.{TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $f$\n\
             DECLARE\n  key text := TG_ARGV[0];\n  old_id text;\n  new_id text;\n\
             \x20 who text := nullif(current_setting('orgsync.writing', true), '');\n\
             BEGIN\n\
             \x20 IF TG_OP <> 'INSERT' THEN old_id := to_jsonb(OLD) ->> key; END IF;\n\
             \x20 IF TG_OP <> 'DELETE' THEN new_id := to_jsonb(NEW) ->> key; END IF;\n\
             \x20 IF old_id IS NOT NULL AND old_id IS DISTINCT FROM new_id THEN\n\
             \x20   INSERT INTO {s}.{LOG_TABLE} (table_name, record_id, op, writer) VALUES (TG_TABLE_NAME, old_id, 'D', who);\n\
             \x20 END IF;\n\
             \x20 IF new_id IS NOT NULL THEN\n\
             \x20   INSERT INTO {s}.{LOG_TABLE} (table_name, record_id, op, writer) VALUES (TG_TABLE_NAME, new_id, 'U', who);\n\
             \x20 END IF;\n\
             \x20 RETURN NULL;\n\
             END\n$f$"
        ),
    ];
    for t in tables {
        let table = format!("{s}.{}", quote(&t.table));
        out.push(format!("DROP TRIGGER IF EXISTS {TRIGGER} ON {table}"));
        out.push(format!(
            "CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION {s}.{TRIGGER}('{}')",
            t.key.replace('\'', "''")
        ));
    }
    out
}

/// The statements that remove every object [`postgres_install`] made.
pub fn postgres_drop(schema: &str, tables: &[Captured]) -> Vec<String> {
    let s = quote(schema);
    let mut out: Vec<String> = tables
        .iter()
        .map(|t| {
            format!(
                "DROP TRIGGER IF EXISTS {TRIGGER} ON {s}.{}",
                quote(&t.table)
            )
        })
        .collect();
    out.push(format!("DROP FUNCTION IF EXISTS {s}.{TRIGGER}() CASCADE"));
    for table in [LOG_TABLE, HORIZON_TABLE, BATCHES_TABLE] {
        out.push(format!("DROP TABLE IF EXISTS {s}.{table}"));
    }
    out
}

/// The statements that install change capture in a SQLite database, in order.
pub fn sqlite_install(tables: &[Captured]) -> Vec<String> {
    let mut out = vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {LOG_TABLE} (\
             seq INTEGER PRIMARY KEY AUTOINCREMENT, \
             table_name TEXT NOT NULL, \
             record_id TEXT NOT NULL, \
             op TEXT NOT NULL, \
             at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), \
             writer TEXT)"
        ),
        format!("CREATE INDEX IF NOT EXISTS {LOG_TABLE}_order ON {LOG_TABLE} (table_name, seq)"),
        format!("CREATE INDEX IF NOT EXISTS {LOG_TABLE}_at ON {LOG_TABLE} (at)"),
        "CREATE TABLE IF NOT EXISTS orgsync_writing (id INTEGER PRIMARY KEY, writer TEXT NOT NULL)"
            .to_owned(),
        format!(
            "CREATE TABLE IF NOT EXISTS {HORIZON_TABLE} (\
             id INTEGER PRIMARY KEY CHECK (id = 1), txid INTEGER NOT NULL, seq INTEGER NOT NULL)"
        ),
        format!("INSERT OR IGNORE INTO {HORIZON_TABLE} VALUES (1, 0, 0)"),
        format!(
            "CREATE TABLE IF NOT EXISTS {BATCHES_TABLE} (\
             key TEXT PRIMARY KEY, request TEXT NOT NULL, answer TEXT NOT NULL, \
             at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
        ),
    ];
    for t in tables {
        let (table, key) = (quote(&t.table), quote(&t.key));
        let name = |op: &str| quote(&format!("{TRIGGER}_{}_{op}", t.table));
        let lit = t.table.replace('\'', "''");
        // Who wrote: the connection whose transaction holds the orgsync_writing row, or nobody
        // of orgsync's (NULL).
        let who = "(SELECT writer FROM orgsync_writing WHERE id = 1)";
        let log = |id: &str, op: &str| {
            format!(
                "INSERT INTO {LOG_TABLE} (table_name, record_id, op, writer) VALUES ('{lit}', CAST({id} AS TEXT), '{op}', {who});"
            )
        };
        for op in ["insert", "update", "delete"] {
            out.push(format!("DROP TRIGGER IF EXISTS {}", name(op)));
        }
        out.push(format!(
            "CREATE TRIGGER {} AFTER INSERT ON {table} BEGIN {} END",
            name("insert"),
            log(&format!("NEW.{key}"), "U")
        ));
        out.push(format!(
            "CREATE TRIGGER {} AFTER UPDATE ON {table} BEGIN \
             INSERT INTO {LOG_TABLE} (table_name, record_id, op, writer) \
             SELECT '{lit}', CAST(OLD.{key} AS TEXT), 'D', {who} WHERE OLD.{key} IS NOT NEW.{key}; {} END",
            name("update"),
            log(&format!("NEW.{key}"), "U")
        ));
        out.push(format!(
            "CREATE TRIGGER {} AFTER DELETE ON {table} BEGIN {} END",
            name("delete"),
            log(&format!("OLD.{key}"), "D")
        ));
    }
    out
}

/// The statements that remove every object [`sqlite_install`] made.
pub fn sqlite_drop(tables: &[Captured]) -> Vec<String> {
    let mut out = Vec::new();
    for t in tables {
        for op in ["insert", "update", "delete"] {
            out.push(format!(
                "DROP TRIGGER IF EXISTS {}",
                quote(&format!("{TRIGGER}_{}_{op}", t.table))
            ));
        }
    }
    for table in [LOG_TABLE, HORIZON_TABLE, BATCHES_TABLE, "orgsync_writing"] {
        out.push(format!("DROP TABLE IF EXISTS {table}"));
    }
    out
}

/// Runs statements in one transaction.
pub fn run_all(conn: &mut impl SimpleConnection, statements: &[String]) -> QueryResult<()> {
    let mut script = String::from("BEGIN;\n");
    for s in statements {
        script.push_str(s);
        script.push_str(";\n");
    }
    script.push_str("COMMIT;");
    conn.batch_execute(&script)
}

pub use super::log::{read_postgres, read_sqlite, Change, Position};

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Marks the rest of the current PostgreSQL transaction as `writer`'s (a connection's) own
/// writes: its reader skips them, every other reader takes them.
pub fn postgres_ours(writer: &str) -> String {
    format!(
        "SELECT set_config('orgsync.writing', {}, true)",
        literal(writer)
    )
}

/// Marks `writer`'s writes in the current SQLite transaction ([`SQLITE_OURS_END`] ends that
/// before it commits).
pub fn sqlite_ours(writer: &str) -> String {
    format!(
        "INSERT OR REPLACE INTO orgsync_writing (id, writer) VALUES (1, {})",
        literal(writer)
    )
}
pub const SQLITE_OURS_END: &str = "DELETE FROM orgsync_writing";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use diesel::pg::PgConnection;
    use diesel::sql_types::{BigInt, Text};
    use diesel::sqlite::SqliteConnection;
    use diesel::{sql_query, Connection, QueryableByName, RunQueryDsl};

    use super::*;

    fn account() -> Vec<Captured> {
        vec![Captured {
            table: "account".to_owned(),
            key: "accountid".to_owned(),
        }]
    }

    fn seen(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{}{}", if c.deleted { "-" } else { "+" }, c.record_id))
            .collect()
    }

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[test]
    fn sqlite_captures_every_change_but_its_own_and_drops_clean() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.db");
        let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
        conn.batch_execute("CREATE TABLE account (accountid text PRIMARY KEY, name text)")
            .unwrap();
        run_all(&mut conn, &sqlite_install(&account())).unwrap();
        // Installing again changes nothing.
        run_all(&mut conn, &sqlite_install(&account())).unwrap();
        conn.batch_execute(
            "INSERT INTO account VALUES ('a1', 'A'), ('a2', 'B'); \
             UPDATE account SET name = 'A2' WHERE accountid = 'a1'; \
             UPDATE account SET accountid = 'a3' WHERE accountid = 'a2'; \
             DELETE FROM account WHERE accountid = 'a1';",
        )
        .unwrap();
        conn.batch_execute(&format!(
            "BEGIN; {}; INSERT INTO account VALUES ('ours', 'O'); {SQLITE_OURS_END}; COMMIT;",
            sqlite_ours("me")
        ))
        .unwrap();
        let (first, at) = read_sqlite(&mut conn, "account", "me", Position::default(), 3).unwrap();
        assert_eq!(seen(&first), ["+a1", "+a2", "+a1"]);
        let (rest, end) = read_sqlite(&mut conn, "account", "me", at, 100).unwrap();
        assert_eq!(seen(&rest), ["-a2", "+a3", "-a1"]);
        assert_eq!(Position::parse(&end.token()), Some(end));
        conn.batch_execute("INSERT INTO account VALUES ('a4', 'D')")
            .unwrap();
        let (later, _) = read_sqlite(&mut conn, "account", "me", end, 100).unwrap();
        assert_eq!(seen(&later), ["+a4"], "orgsync's own write is not echoed");
        let (others, _) =
            read_sqlite(&mut conn, "account", "another", Position::default(), 100).unwrap();
        assert!(
            seen(&others).contains(&"+ours".to_owned()),
            "another connection on the same table takes it: {others:?}"
        );

        run_all(&mut conn, &sqlite_drop(&account())).unwrap();
        let left: Count = sql_query(
            "SELECT count(*) AS n FROM sqlite_schema WHERE name LIKE 'orgsync%' OR sql LIKE '%orgsync%'",
        )
        .get_result(&mut conn)
        .unwrap();
        assert_eq!(left.n, 0);
        conn.batch_execute("INSERT INTO account VALUES ('a5', 'E')")
            .unwrap();
    }

    /// Waits until every transaction that began before now has ended. Any open transaction
    /// on the cluster (another test's) holds the reader back for as long as it runs: the
    /// reader waits, it never skips, and a test that expects a change read must wait too.
    fn settle(conn: &mut PgConnection) {
        let xid = |conn: &mut PgConnection, sql: &str| -> i64 {
            sql_query(format!("SELECT ({sql})::text::bigint AS n"))
                .get_result::<Count>(conn)
                .unwrap()
                .n
        };
        let marker = xid(conn, "pg_current_xact_id()");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while xid(conn, "pg_snapshot_xmin(pg_current_snapshot())") <= marker {
            assert!(
                std::time::Instant::now() < deadline,
                "a transaction stayed open"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    #[test]
    #[cfg_attr(
        not(postgres_tests),
        ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
    )]
    fn a_late_commit_is_read_once_never_skipped_postgres() {
        let url = std::env::var("ORGSYNC_TEST_POSTGRES_URL").unwrap();
        let schema = format!("capture_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&url).unwrap();
        admin
            .batch_execute(&format!(
                "CREATE SCHEMA {schema}; \
                 CREATE TABLE {schema}.account (accountid text PRIMARY KEY, name text)"
            ))
            .unwrap();
        let result = std::panic::catch_unwind(|| {
            let mut conn = PgConnection::establish(&url).unwrap();
            run_all(&mut conn, &postgres_install(&schema, &account())).unwrap();
            run_all(&mut conn, &postgres_install(&schema, &account())).unwrap();
            let mut late = PgConnection::establish(&url).unwrap();
            let mut writer = PgConnection::establish(&url).unwrap();
            // A transaction that writes first and commits last.
            late.batch_execute(&format!(
                "BEGIN; INSERT INTO {schema}.account VALUES ('late', 'L')"
            ))
            .unwrap();
            writer
                .batch_execute(&format!(
                    "INSERT INTO {schema}.account VALUES ('early', 'E'); \
                     UPDATE {schema}.account SET name = 'E2' WHERE accountid = 'early'"
                ))
                .unwrap();
            let (held, at) = read_postgres(
                &mut conn,
                &schema,
                "account",
                "me",
                Position::default(),
                100,
            )
            .unwrap();
            assert!(
                held.is_empty(),
                "nothing after the open transaction is read yet: {held:?}"
            );
            late.batch_execute("COMMIT").unwrap();
            settle(&mut conn);
            let (now, at) = read_postgres(&mut conn, &schema, "account", "me", at, 100).unwrap();
            assert_eq!(seen(&now), ["+late", "+early", "+early"]);
            writer
                .batch_execute(&format!(
                    "BEGIN; {}; INSERT INTO {schema}.account VALUES ('ours', 'O'); COMMIT; \
                     DELETE FROM {schema}.account WHERE accountid = 'late'; \
                     UPDATE {schema}.account SET accountid = 'renamed' WHERE accountid = 'early'",
                    postgres_ours("me")
                ))
                .unwrap();
            settle(&mut conn);
            let (more, at) = read_postgres(&mut conn, &schema, "account", "me", at, 100).unwrap();
            assert_eq!(seen(&more), ["-late", "-early", "+renamed"]);
            let (none, _) = read_postgres(&mut conn, &schema, "account", "me", at, 100).unwrap();
            assert!(none.is_empty(), "each change once: {none:?}");
            let (others, _) = read_postgres(
                &mut conn,
                &schema,
                "account",
                "another",
                Position::default(),
                100,
            )
            .unwrap();
            assert!(
                seen(&others).contains(&"+ours".to_owned()),
                "another connection on the same table takes it: {others:?}"
            );

            run_all(&mut conn, &postgres_drop(&schema, &account())).unwrap();
            let left: Count = sql_query(
                "SELECT ((SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                          WHERE n.nspname = $1 AND c.relname LIKE 'orgsync%') \
                       + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                          WHERE n.nspname = $1 AND p.proname LIKE 'orgsync%') \
                       + (SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                          JOIN pg_namespace n ON n.oid = c.relnamespace \
                          WHERE n.nspname = $1 AND t.tgname LIKE 'orgsync%'))::bigint AS n",
            )
            .bind::<Text, _>(&schema)
            .get_result(&mut conn)
            .unwrap();
            assert_eq!(left.n, 0, "no orgsync object is left");
        });
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
        result.unwrap();
    }
}
