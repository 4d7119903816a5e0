//! The `Url` of a sql connection: `postgres://host:port/db?schema=NAME` (the credentials go in
//! `UserName` and `Password`, which are encrypted at rest, never in the URL) or
//! `sqlite:///absolute/path.db`.

use std::path::PathBuf;

/// The database a sql connection reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The server's URL without credentials or parameters, and the schema of its tables.
    Postgres {
        url: String,
        schema: String,
    },
    Sqlite {
        path: PathBuf,
    },
}

/// Reads a sql connection's `Url`, or says what is wrong with it.
pub fn parse_url(url: &str) -> Result<Target, String> {
    let url = url.trim();
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            return Err(format!(
                "'{url}' does not name an absolute path: write sqlite:///absolute/path.db"
            ));
        }
        return Ok(Target::Sqlite { path });
    }
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| {
            format!("'{url}' is neither postgres://host:port/db?schema=NAME nor sqlite:///path")
        })?;
    let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, database) = address.split_once('/').unwrap_or((address, ""));
    if host.contains('@') {
        return Err("the URL holds credentials: give them as UserName and Password".to_owned());
    }
    if host.is_empty() || database.is_empty() || database.contains('/') {
        return Err(format!(
            "'{url}' must name a host and a database: postgres://host:port/db?schema=NAME"
        ));
    }
    let mut schema = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("schema", value)) if !value.is_empty() => schema = Some(value.to_owned()),
            _ => {
                return Err(format!(
                    "'{pair}' is not a parameter here: only schema=NAME is"
                ))
            }
        }
    }
    let schema = schema.unwrap_or_else(|| "public".to_owned());
    if schema.len() > 63 || schema.contains(['"', '\0']) {
        return Err(format!("'{schema}' is not a schema name"));
    }
    Ok(Target::Postgres {
        url: format!("postgres://{host}/{database}"),
        schema,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_and_sqlite_urls_read_as_the_contract_writes_them() {
        assert_eq!(
            parse_url("postgres://db.example:5432/crm?schema=sales"),
            Ok(Target::Postgres {
                url: "postgres://db.example:5432/crm".to_owned(),
                schema: "sales".to_owned()
            })
        );
        assert_eq!(
            parse_url("postgresql://localhost/crm"),
            Ok(Target::Postgres {
                url: "postgres://localhost/crm".to_owned(),
                schema: "public".to_owned()
            })
        );
        assert_eq!(
            parse_url("sqlite:///var/lib/crm.db"),
            Ok(Target::Sqlite {
                path: PathBuf::from("/var/lib/crm.db")
            })
        );
    }

    #[test]
    fn what_cannot_be_reached_says_why() {
        for (url, says) in [
            ("sqlite://crm.db", "absolute path"),
            ("postgres://admin:secret@db/crm", "UserName and Password"),
            ("postgres://db", "a host and a database"),
            ("postgres://db/crm?sslmode=disable", "only schema=NAME"),
            ("mysql://db/crm", "neither"),
        ] {
            let why = parse_url(url).unwrap_err();
            assert!(why.contains(says), "{url}: {why}");
        }
    }
}
