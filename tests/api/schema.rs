//! The migrations and `src/db/schema.rs` describe the same tables: a freshly migrated database
//! of each backend has exactly the tables and columns of the `diesel::table!` blocks, with
//! compatible types, the same nullability and the same primary keys.

use std::collections::BTreeMap;

use diesel::sql_types::{Integer, Text};
use diesel::{QueryableByName, RunQueryDsl};
use orgsync::db::DbConn;

use crate::testkit::launch::TestApp;

const SCHEMA_RS: &str = include_str!("../../src/db/schema.rs");

/// diesel's own bookkeeping, in no `table!` block.
const MIGRATIONS_TABLE: &str = "__diesel_schema_migrations";

/// A column as `schema.rs` declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Declared {
    /// `BigInt`, `Integer`, `Text`, `Bool` or `Binary`.
    sql_type: String,
    nullable: bool,
}

/// A table of `schema.rs`: its primary key and its columns by name.
#[derive(Debug, Default)]
struct DeclaredTable {
    primary_key: Vec<String>,
    columns: BTreeMap<String, Declared>,
}

/// A column as the database has it.
#[derive(Debug, Clone)]
struct Found {
    /// The declared type (SQLite) or `data_type` (PostgreSQL), lower-case.
    db_type: String,
    nullable: bool,
    /// Its place in the primary key (1-based), 0 when not part of it.
    pk_position: i32,
}

/// Reads every `diesel::table! { name (key, …) { column -> Type, … } }` block.
fn parse_schema(text: &str) -> BTreeMap<String, DeclaredTable> {
    let mut tables = BTreeMap::new();
    let mut rest = text;
    while let Some(at) = rest.find("diesel::table!") {
        rest = &rest[at + "diesel::table!".len()..];
        let open = rest.find('{').expect("a table! block opens");
        let head_end = rest[open + 1..].find('{').expect("a table! head") + open + 1;
        let head = rest[open + 1..head_end].trim();
        let (name, key) = head
            .split_once('(')
            .unwrap_or_else(|| panic!("no primary key in table! head '{head}'"));
        let name = name.trim().to_owned();
        let primary_key = key
            .trim_end_matches(')')
            .split(',')
            .map(|k| ident(k.trim()))
            .collect();
        let body_end = rest[head_end + 1..].find('}').expect("a table! body ends") + head_end + 1;
        let mut table = DeclaredTable {
            primary_key,
            columns: BTreeMap::new(),
        };
        for line in rest[head_end + 1..body_end].lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let (column, ty) = line
                .trim_end_matches(',')
                .split_once("->")
                .unwrap_or_else(|| panic!("table {name}: cannot read the line '{line}'"));
            let ty = ty.trim();
            let (sql_type, nullable) = match ty.strip_prefix("Nullable<") {
                Some(inner) => (inner.trim_end_matches('>').trim(), true),
                None => (ty, false),
            };
            assert!(
                ["BigInt", "Integer", "Text", "Bool", "Binary"].contains(&sql_type),
                "table {name}: the check knows no type {sql_type} (column {column})"
            );
            let previous = table.columns.insert(
                ident(column.trim()),
                Declared {
                    sql_type: sql_type.to_owned(),
                    nullable,
                },
            );
            assert!(previous.is_none(), "table {name}: {column} twice");
        }
        rest = &rest[body_end + 1..];
        assert!(
            tables.insert(name.clone(), table).is_none(),
            "table {name} twice"
        );
    }
    tables
}

/// A column or table name, without the `r#` of a raw identifier.
fn ident(name: &str) -> String {
    name.trim_start_matches("r#").to_owned()
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
    #[diesel(sql_type = Integer)]
    pk_position: i32,
}

/// Every column of every table of the app's database: table → column → what it is.
fn database_columns(app: &TestApp) -> BTreeMap<String, BTreeMap<String, Found>> {
    let mut conn = app.state.db.get().unwrap();
    let mut out: BTreeMap<String, BTreeMap<String, Found>> = BTreeMap::new();
    match &mut *conn {
        DbConn::Sqlite(c) => {
            let rows: Vec<SqliteColumn> = diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                 p.\"notnull\" AS not_null, p.pk AS pk \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
            )
            .load(c)
            .unwrap();
            for r in rows {
                out.entry(r.table_name).or_default().insert(
                    r.column_name,
                    Found {
                        db_type: r.data_type.to_lowercase(),
                        // A primary key column holds no NULL in this app; SQLite only marks
                        // it NOT NULL when declared so (diesel's print-schema reads it the
                        // same way).
                        nullable: r.not_null == 0 && r.pk == 0,
                        pk_position: r.pk,
                    },
                );
            }
        }
        DbConn::Pg(c) => {
            let rows: Vec<PgColumn> = diesel::sql_query(
                "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
                 c.data_type::text AS data_type, c.is_nullable::text AS is_nullable, \
                 COALESCE(k.ordinal_position::int4, 0) AS pk_position \
                 FROM information_schema.columns c \
                 LEFT JOIN information_schema.table_constraints t \
                   ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
                   AND t.constraint_type = 'PRIMARY KEY' \
                 LEFT JOIN information_schema.key_column_usage k \
                   ON k.constraint_schema = t.constraint_schema \
                   AND k.constraint_name = t.constraint_name AND k.column_name = c.column_name \
                 WHERE c.table_schema = current_schema()",
            )
            .load(c)
            .unwrap();
            for r in rows {
                out.entry(r.table_name).or_default().insert(
                    r.column_name,
                    Found {
                        db_type: r.data_type.to_lowercase(),
                        nullable: r.is_nullable == "YES",
                        pk_position: r.pk_position,
                    },
                );
            }
        }
    }
    out
}

/// Whether a column of this database type reads and writes as the diesel type.
fn compatible(is_postgres: bool, sql_type: &str, db_type: &str) -> bool {
    let accepted: &[&str] = match (is_postgres, sql_type) {
        (true, "BigInt") => &["bigint"],
        (true, "Integer") => &["integer"],
        (true, "Text") => &["text"],
        (true, "Bool") => &["boolean"],
        (true, "Binary") => &["bytea"],
        // SQLite keeps any integer in 64 bits: an INTEGER column (a rowid) reads as BigInt.
        (false, "BigInt") => &["bigint", "integer"],
        (false, "Integer") => &["integer"],
        (false, "Text") => &["text"],
        (false, "Bool") => &["boolean"],
        (false, "Binary") => &["blob"],
        _ => &[],
    };
    accepted.contains(&db_type)
}

fn describe(d: &Declared) -> String {
    if d.nullable {
        format!("Nullable<{}>", d.sql_type)
    } else {
        d.sql_type.clone()
    }
}

/// Every difference between the declared tables and the database's, one line each.
fn differences(
    is_postgres: bool,
    declared: &BTreeMap<String, DeclaredTable>,
    found: &BTreeMap<String, BTreeMap<String, Found>>,
) -> Vec<String> {
    let mut diffs = Vec::new();
    for name in found.keys() {
        if name != MIGRATIONS_TABLE && !declared.contains_key(name) {
            diffs.push(format!(
                "table {name}: made by the migrations, missing from schema.rs"
            ));
        }
    }
    for (name, table) in declared {
        let Some(columns) = found.get(name) else {
            diffs.push(format!(
                "table {name}: in schema.rs, not made by the migrations"
            ));
            continue;
        };
        for (column, f) in columns {
            if !table.columns.contains_key(column) {
                let null = if f.nullable { "NULL" } else { "NOT NULL" };
                diffs.push(format!(
                    "column {name}.{column}: in the database ({} {null}), missing from schema.rs",
                    f.db_type
                ));
            }
        }
        for (column, d) in &table.columns {
            let Some(f) = columns.get(column) else {
                diffs.push(format!(
                    "column {name}.{column}: in schema.rs ({}), not in the database",
                    describe(d)
                ));
                continue;
            };
            if !compatible(is_postgres, &d.sql_type, &f.db_type) {
                diffs.push(format!(
                    "column {name}.{column}: schema.rs says {}, the database has type {}",
                    d.sql_type, f.db_type
                ));
            }
            if d.nullable != f.nullable {
                let (says, has) = if d.nullable {
                    ("Nullable", "NOT NULL")
                } else {
                    ("not Nullable", "NULL allowed")
                };
                diffs.push(format!(
                    "column {name}.{column}: schema.rs says {says}, the database has {has}"
                ));
            }
        }
        let mut key: Vec<(i32, &String)> = columns
            .iter()
            .filter(|(_, f)| f.pk_position > 0)
            .map(|(c, f)| (f.pk_position, c))
            .collect();
        key.sort();
        let key: Vec<&String> = key.into_iter().map(|(_, c)| c).collect();
        if key != table.primary_key.iter().collect::<Vec<_>>() {
            diffs.push(format!(
                "table {name}: schema.rs says primary key {:?}, the database has {key:?}",
                table.primary_key
            ));
        }
    }
    diffs
}

async fn the_migrated_database_matches_schema_rs(app: TestApp) {
    let declared = parse_schema(SCHEMA_RS);
    assert!(
        declared.len() >= 10 && declared.contains_key("records"),
        "schema.rs was read: {:?}",
        declared.keys()
    );
    let is_postgres = app.state.db.is_postgres();
    let found = database_columns(&app);
    assert!(
        found.contains_key(MIGRATIONS_TABLE),
        "the app ran migrations"
    );
    let diffs = differences(is_postgres, &declared, &found);
    let backend = if is_postgres { "PostgreSQL" } else { "SQLite" };
    assert!(
        diffs.is_empty(),
        "the migrated {backend} database and src/db/schema.rs differ:\n  {}",
        diffs.join("\n  ")
    );
}

both_backends!(the_migrated_database_matches_schema_rs);

#[test]
fn the_schema_parser_reads_types_nullability_and_keys() {
    let tables = parse_schema(
        "diesel::table! {\n    t (a, b) {\n        a -> BigInt,\n        b -> Text,\n        \
         r#type -> Nullable<Integer>,\n    }\n}\ndiesel::joinable!(t -> u (a));\n\
         diesel::table! {\n    u (id) {\n        id -> Bool,\n    }\n}\n",
    );
    assert_eq!(tables.keys().collect::<Vec<_>>(), ["t", "u"]);
    let t = &tables["t"];
    assert_eq!(t.primary_key, ["a", "b"]);
    assert_eq!(
        t.columns["type"],
        Declared {
            sql_type: "Integer".to_owned(),
            nullable: true
        }
    );
    assert_eq!(t.columns["b"].sql_type, "Text");
    assert!(!t.columns["a"].nullable);
    assert_eq!(tables["u"].columns.len(), 1);
}

#[test]
fn every_kind_of_difference_is_reported() {
    let declared = parse_schema(
        "diesel::table! {\n    t (id) {\n        id -> BigInt,\n        n -> Integer,\n        \
         s -> Nullable<Text>,\n        b -> Bool,\n        gone -> Text,\n    }\n}\n\
         diesel::table! {\n    lost (id) {\n        id -> Text,\n    }\n}\n",
    );
    let col = |db_type: &str, nullable: bool, pk_position: i32| Found {
        db_type: db_type.to_owned(),
        nullable,
        pk_position,
    };
    let mut t = BTreeMap::new();
    t.insert("id".to_owned(), col("integer", false, 0));
    t.insert("n".to_owned(), col("bigint", false, 1));
    t.insert("s".to_owned(), col("text", false, 0));
    t.insert("b".to_owned(), col("boolean", true, 0));
    t.insert("extra".to_owned(), col("text", true, 0));
    let mut found = BTreeMap::new();
    found.insert("t".to_owned(), t);
    found.insert("stray".to_owned(), BTreeMap::new());
    found.insert(MIGRATIONS_TABLE.to_owned(), BTreeMap::new());
    let diffs = differences(true, &declared, &found);
    let expected = [
        "table stray: made by the migrations, missing from schema.rs",
        "table lost: in schema.rs, not made by the migrations",
        "column t.extra: in the database (text NULL), missing from schema.rs",
        "column t.b: schema.rs says not Nullable, the database has NULL allowed",
        "column t.gone: in schema.rs (Text), not in the database",
        "column t.id: schema.rs says BigInt, the database has type integer",
        "column t.n: schema.rs says Integer, the database has type bigint",
        "column t.s: schema.rs says Nullable, the database has NOT NULL",
        "table t: schema.rs says primary key [\"id\"], the database has [\"n\"]",
    ];
    assert_eq!(diffs, expected, "{diffs:#?}");
    // On SQLite an INTEGER column (a rowid) is a BigInt.
    assert!(!differences(false, &declared, &found)
        .iter()
        .any(|d| d.starts_with("column t.id")));
}
