//! Reading an external database's catalog into [`Table`]s: SQLite's `pragma_table_info` and
//! `pragma_foreign_key_list`, PostgreSQL's `pg_catalog`. What the tables come to is
//! [`super::catalog`]'s.

use diesel::pg::PgConnection;
use diesel::sql_types::{Bool, Integer, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{sql_query, QueryResult, QueryableByName, RunQueryDsl};

use super::catalog::{Column, Table};

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    name: String,
}

/// A column as either catalog query gives it.
#[derive(QueryableByName)]
struct CatalogColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    #[diesel(sql_type = Bool)]
    has_default: bool,
    /// Its place in the primary key (from 1), when it is part of it.
    #[diesel(sql_type = Nullable<Integer>)]
    key_position: Option<i32>,
}

/// Groups columns (in table order, each table's together) into tables.
fn tables_of(columns: Vec<CatalogColumn>, keys: Vec<ForeignKey>) -> Vec<Table> {
    let mut tables: Vec<Table> = Vec::new();
    let mut primary: Vec<(usize, i32, String)> = Vec::new();
    for c in columns {
        if tables.last().is_none_or(|t| t.name != c.table_name) {
            tables.push(Table {
                name: c.table_name.clone(),
                columns: Vec::new(),
                primary_key: Vec::new(),
                foreign_keys: Vec::new(),
            });
        }
        let at = tables.len() - 1;
        if let Some(p) = c.key_position {
            primary.push((at, p, c.name.clone()));
        }
        tables[at].columns.push(Column {
            name: c.name,
            data_type: c.data_type,
            not_null: c.not_null,
            has_default: c.has_default,
        });
    }
    primary.sort();
    for (at, _, name) in primary {
        tables[at].primary_key.push(name);
    }
    for k in keys {
        if let Some(t) = tables.iter_mut().find(|t| t.name == k.table_name) {
            t.foreign_keys.push((k.column_name, k.target));
        }
    }
    tables
}

#[derive(QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    target: String,
}

/// The tables of a SQLite database (orgsync's own `orgsync_…` ones left out).
pub fn read_sqlite(conn: &mut SqliteConnection) -> QueryResult<Vec<Table>> {
    let names: Vec<NameRow> = sql_query(
        "SELECT name FROM sqlite_schema WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'orgsync\\_%' ESCAPE '\\' \
         ORDER BY name",
    )
    .load(conn)?;
    let (mut columns, mut keys) = (Vec::new(), Vec::new());
    for NameRow { name } in names {
        columns.extend(
            sql_query(
                "SELECT ? AS table_name, name, type AS data_type, \"notnull\" <> 0 AS not_null, \
                 dflt_value IS NOT NULL AS has_default, NULLIF(pk, 0) AS key_position \
                 FROM pragma_table_info(?) ORDER BY cid",
            )
            .bind::<Text, _>(&name)
            .bind::<Text, _>(&name)
            .load::<CatalogColumn>(conn)?,
        );
        keys.extend(
            sql_query(
                "SELECT ? AS table_name, \"from\" AS column_name, \"table\" AS target \
                 FROM pragma_foreign_key_list(?) \
                 WHERE id IN (SELECT id FROM pragma_foreign_key_list(?) GROUP BY id HAVING count(*) = 1)",
            )
            .bind::<Text, _>(&name)
            .bind::<Text, _>(&name)
            .bind::<Text, _>(&name)
            .load::<ForeignKey>(conn)?,
        );
    }
    Ok(tables_of(columns, keys))
}

/// The tables (and partitioned tables) of a PostgreSQL schema (orgsync's own `orgsync_…`
/// ones left out).
pub fn read_postgres(conn: &mut PgConnection, schema: &str) -> QueryResult<Vec<Table>> {
    let columns: Vec<CatalogColumn> = sql_query(
        "SELECT c.relname::text AS table_name, a.attname::text AS name, \
                format_type(a.atttypid, a.atttypmod) AS data_type, a.attnotnull AS not_null, \
                (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default, \
                array_position(i.indkey::int2[], a.attnum)::int AS key_position \
         FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE 'orgsync\\_%' \
         ORDER BY c.relname, a.attnum",
    )
    .bind::<Text, _>(schema)
    .load(conn)?;
    let keys: Vec<ForeignKey> = sql_query(
        "SELECT c.relname::text AS table_name, a.attname::text AS column_name, \
                t.relname::text AS target \
         FROM pg_constraint k \
         JOIN pg_class c ON c.oid = k.conrelid \
         JOIN pg_class t ON t.oid = k.confrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1] \
         WHERE k.contype = 'f' AND cardinality(k.conkey) = 1 AND n.nspname = $1 \
           AND t.relnamespace = c.relnamespace",
    )
    .bind::<Text, _>(schema)
    .load(conn)?;
    Ok(tables_of(columns, keys))
}
