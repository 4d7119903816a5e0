//! What the sql provider makes of an external database's catalog: each table with a
//! one-column primary key is an entity, each column it can map an attribute of it. What it
//! cannot map is left out and said, never mangled.

pub use super::introspect::{read_postgres, read_sqlite};
use crate::domain::metadata::{AttributeDef, AttributeType, EntityDef, SYSTEM_ATTRIBUTES};
use crate::domain::names::LogicalName;

/// A table as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    /// In the table's order.
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    /// (column, the table it references) of each one-column foreign key.
    pub foreign_keys: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The declared type, as the database spells it (`character varying(100)`, `NUMERIC(19,4)`).
    pub data_type: String,
    pub not_null: bool,
    pub has_default: bool,
}

/// What the catalog left out: a whole table, or one of its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut {
    pub table: String,
    pub column: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for LeftOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "column {}.{} left out: {}", self.table, c, self.reason),
            None => write!(f, "table {} left out: {}", self.table, self.reason),
        }
    }
}

/// The entities of `tables`, with what was left out of them.
pub fn entities(tables: &[Table]) -> (Vec<EntityDef>, Vec<LeftOut>) {
    let mut left_out = Vec::new();
    let mut keyed = Vec::new();
    for t in tables {
        let out = |reason: String| LeftOut {
            table: t.name.clone(),
            column: None,
            reason,
        };
        match (
            LogicalName::parse(t.name.as_str()),
            t.primary_key.as_slice(),
        ) {
            (Err(_), _) => left_out.push(out(
                "its name is not a logical name (lowercase letters, digits and '_')".to_owned(),
            )),
            (Ok(_), []) => left_out.push(out("it has no primary key".to_owned())),
            (Ok(name), [key]) => keyed.push((name, t, key.as_str())),
            (Ok(_), _) => left_out.push(out(format!(
                "its primary key has {} columns; one is needed",
                t.primary_key.len()
            ))),
        }
    }
    let known: Vec<&str> = keyed.iter().map(|(n, _, _)| n.as_str()).collect();
    let mut entities = Vec::with_capacity(keyed.len());
    for (name, table, key) in &keyed {
        match entity(name, table, key, &known, &mut left_out) {
            Ok(def) => entities.push(def),
            Err(reason) => left_out.push(LeftOut {
                table: table.name.clone(),
                column: None,
                reason,
            }),
        }
    }
    (entities, left_out)
}

fn entity(
    name: &LogicalName,
    table: &Table,
    key: &str,
    known: &[&str],
    left_out: &mut Vec<LeftOut>,
) -> Result<EntityDef, String> {
    let primary_key = LogicalName::parse(key)
        .map_err(|_| format!("its key column '{key}' is not a logical name"))?;
    let mut attributes = Vec::new();
    for c in table.columns.iter().filter(|c| c.name != key) {
        let mut skip = |reason: String| {
            left_out.push(LeftOut {
                table: table.name.clone(),
                column: Some(c.name.clone()),
                reason,
            })
        };
        let Ok(attr_name) = LogicalName::parse(c.name.as_str()) else {
            skip("its name is not a logical name (lowercase letters, digits and '_')".to_owned());
            continue;
        };
        if SYSTEM_ATTRIBUTES.iter().any(|(s, _)| *s == c.name) {
            skip(format!("'{}' is the name of a system field", c.name));
            continue;
        }
        let target = table
            .foreign_keys
            .iter()
            .find(|(column, _)| *column == c.name)
            .map(|(_, target)| target.as_str());
        let (kind, max_length, target) = match target {
            Some(t) if known.contains(&t) => {
                let target = LogicalName::parse(t).map_err(|e| e.to_string())?;
                (AttributeType::Lookup, None, Some(target))
            }
            Some(t) => {
                skip(format!(
                    "it references table '{t}', which is not an entity here"
                ));
                continue;
            }
            None => match kind_of(&c.data_type) {
                Some((kind, max_length)) => (kind, max_length, None),
                None => {
                    skip(format!("type '{}' has no attribute type", c.data_type));
                    continue;
                }
            },
        };
        attributes.push(AttributeDef {
            name: attr_name,
            kind,
            required: c.not_null && !c.has_default,
            max_length,
            target,
            options: None,
        });
    }
    let primary_name = ["name", "fullname", "title", "subject"]
        .into_iter()
        .find(|n| {
            attributes
                .iter()
                .any(|a| a.name.as_str() == *n && a.kind.is_text())
        })
        .and_then(|n| LogicalName::parse(n).ok());
    let def = EntityDef {
        name: name.clone(),
        display_name: None,
        primary_key,
        primary_name,
        attributes,
    };
    def.check().map_err(|e| e.message)?;
    Ok(def)
}

/// The attribute type of a declared column type (and a text's longest length), or `None`
/// when orgsync has none that keeps its values as they are.
pub fn kind_of(declared: &str) -> Option<(AttributeType, Option<u32>)> {
    let t = declared.trim().to_ascii_lowercase();
    let (base, args) = match t.split_once('(') {
        Some((base, rest)) => (base.trim(), rest.trim_end_matches(')').trim()),
        None => (t.as_str(), ""),
    };
    let length = || args.parse::<u32>().ok().filter(|n| *n > 0);
    let kind = match base {
        "character varying" | "varchar" | "character" | "char" | "nvarchar" | "nchar"
        | "varying character" | "native character" => {
            return Some(match length() {
                Some(n) => (AttributeType::String, Some(n)),
                None if args.is_empty() => (AttributeType::Memo, None),
                None => return None,
            })
        }
        "text" | "clob" => AttributeType::Memo,
        "smallint" | "integer" | "int" | "bigint" | "int2" | "int4" | "int8" | "tinyint"
        | "mediumint" => AttributeType::Integer,
        "numeric" | "decimal" => AttributeType::Decimal,
        "boolean" | "bool" => AttributeType::Boolean,
        "timestamp with time zone"
        | "timestamptz"
        | "timestamp without time zone"
        | "timestamp"
        | "datetime" => AttributeType::DateTime,
        "date" => AttributeType::Date,
        "uuid" => AttributeType::Uniqueidentifier,
        _ => return None,
    };
    Some((kind, None))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use diesel::connection::SimpleConnection;
    use diesel::pg::PgConnection;
    use diesel::sqlite::SqliteConnection;
    use diesel::Connection;

    use super::*;

    /// A CRM's tables, in each dialect: what maps, what is left out and why.
    const CRM: &str = "
        CREATE TABLE account (
            accountid text PRIMARY KEY,
            name varchar(100) NOT NULL,
            revenue numeric(19,4),
            active boolean NOT NULL DEFAULT true,
            founded date,
            updated_at timestamptz,
            logo BYTEA_OR_BLOB,
            \"Region\" text
        );
        CREATE TABLE contact (
            contactid uuid PRIMARY KEY,
            fullname text NOT NULL,
            accountid text REFERENCES account (accountid),
            email varchar(200),
            visits integer NOT NULL DEFAULT 0
        );
        CREATE TABLE audit_entry (at timestamptz, what text);
        CREATE TABLE pair (a integer, b integer, PRIMARY KEY (a, b));
    ";

    fn attribute<'a>(defs: &'a [EntityDef], entity: &str, name: &str) -> &'a AttributeDef {
        let def = defs.iter().find(|d| d.name.as_str() == entity).unwrap();
        def.attribute(name)
            .unwrap_or_else(|| panic!("{entity}.{name} in {def:?}"))
    }

    fn check_crm(tables: &[Table]) {
        let (defs, left_out) = entities(tables);
        let names: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["account", "contact"], "{left_out:?}");
        let account = &defs[0];
        assert_eq!(account.primary_key.as_str(), "accountid");
        assert_eq!(account.primary_name.as_ref().unwrap().as_str(), "name");
        let name = attribute(&defs, "account", "name");
        assert_eq!(
            (name.kind, name.max_length, name.required),
            (AttributeType::String, Some(100), true)
        );
        assert_eq!(
            attribute(&defs, "account", "revenue").kind,
            AttributeType::Decimal
        );
        let active = attribute(&defs, "account", "active");
        assert_eq!(
            (active.kind, active.required),
            (AttributeType::Boolean, false)
        );
        assert_eq!(
            attribute(&defs, "account", "founded").kind,
            AttributeType::Date
        );
        assert_eq!(
            attribute(&defs, "account", "updated_at").kind,
            AttributeType::DateTime
        );
        let lookup = attribute(&defs, "contact", "accountid");
        assert_eq!(lookup.kind, AttributeType::Lookup);
        assert_eq!(lookup.target.as_ref().unwrap().as_str(), "account");
        assert_eq!(
            attribute(&defs, "contact", "fullname").kind,
            AttributeType::Memo
        );
        let email = attribute(&defs, "contact", "email");
        assert_eq!(
            (email.kind, email.max_length),
            (AttributeType::String, Some(200))
        );
        assert!(!attribute(&defs, "contact", "visits").required);
        let said: Vec<String> = left_out.iter().map(ToString::to_string).collect();
        for expected in [
            "column account.logo left out: type",
            "column account.Region left out: its name is not a logical name",
            "table audit_entry left out: it has no primary key",
            "table pair left out: its primary key has 2 columns",
        ] {
            assert!(
                said.iter().any(|s| s.starts_with(expected)),
                "{expected} in {said:?}"
            );
        }
        assert_eq!(said.len(), 4, "{said:?}");
    }

    #[test]
    fn a_sqlite_crm_maps_to_entities() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.db");
        let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
        conn.batch_execute(&CRM.replace("BYTEA_OR_BLOB", "BLOB"))
            .unwrap();
        check_crm(&read_sqlite(&mut conn).unwrap());
    }

    #[test]
    #[cfg_attr(
        not(postgres_tests),
        ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
    )]
    fn a_postgres_crm_maps_to_entities_postgres() {
        let url = std::env::var("ORGSYNC_TEST_POSTGRES_URL").unwrap();
        let mut conn = PgConnection::establish(&url).unwrap();
        let schema = format!("catalog_{}", uuid::Uuid::new_v4().simple());
        conn.batch_execute(&format!(
            "CREATE SCHEMA {schema}; SET search_path TO {schema};"
        ))
        .unwrap();
        let ddl = CRM.replace("BYTEA_OR_BLOB", "bytea");
        let read = conn
            .batch_execute(&ddl)
            .and_then(|()| read_postgres(&mut conn, &schema));
        conn.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .unwrap();
        check_crm(&read.unwrap());
    }

    #[test]
    fn declared_types_map_as_the_contract_says() {
        for (declared, kind, length) in [
            ("character varying(40)", AttributeType::String, Some(40)),
            ("VARCHAR(12)", AttributeType::String, Some(12)),
            ("character varying", AttributeType::Memo, None),
            ("text", AttributeType::Memo, None),
            ("bigint", AttributeType::Integer, None),
            ("smallint", AttributeType::Integer, None),
            ("numeric(19,4)", AttributeType::Decimal, None),
            ("NUMERIC", AttributeType::Decimal, None),
            ("timestamp with time zone", AttributeType::DateTime, None),
            (
                "timestamp(3) without time zone",
                AttributeType::DateTime,
                None,
            ),
            ("date", AttributeType::Date, None),
            ("uuid", AttributeType::Uniqueidentifier, None),
            ("boolean", AttributeType::Boolean, None),
        ] {
            assert_eq!(kind_of(declared), Some((kind, length)), "{declared}");
        }
        for unmapped in [
            "bytea",
            "jsonb",
            "real",
            "double precision",
            "point",
            "integer[]",
        ] {
            assert_eq!(kind_of(unmapped), None, "{unmapped}");
        }
    }
}
