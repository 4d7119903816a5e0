//! A row as the database gives it (its JSON object) turned into a record's id, attributes and
//! version, and a record's attributes turned back into the object the database reads into the
//! row. Values keep their text: a `numeric` is read and written as the digits it has.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::store::Shape;
use crate::domain::metadata::{AttributeType, EntityDef};
use crate::domain::record::{normalize_owned, Source};

/// A row's id on the wire: a text key as it is, a number as its digits.
pub fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The key of `id` as the database reads it: `{key: value}`.
pub fn key_object(shape: &Shape, id: &str) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert(shape.key.clone(), key_value(shape, id));
    object
}

fn key_value(shape: &Shape, id: &str) -> Value {
    match id.parse::<i64>() {
        Ok(n) if shape.numeric_key => Value::from(n),
        _ => Value::String(id.to_owned()),
    }
}

/// An instant as the client keeps it (RFC 3339 in UTC). A time without an offset (a
/// `timestamp` column, SQLite's text) is taken as UTC.
fn instant(text: &str) -> Option<String> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Some(
            at.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        );
    }
    let with_t = t.replacen(' ', "T", 1);
    if let Ok(at) = DateTime::parse_from_rfc3339(&with_t) {
        return Some(
            at.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        );
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&with_t, f).ok())
        .map(|n| n.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// A row read from the database: its id and its attributes as the client keeps them (nulls
/// left out). The attributes the client cannot read are left for its own checks to name.
pub fn record_of(
    def: &EntityDef,
    shape: &Shape,
    text: &str,
) -> Result<(String, Map<String, Value>), String> {
    let row: Map<String, Value> = serde_json::from_str(text)
        .map_err(|e| format!("a row of {} does not read as JSON: {e}", shape.table))?;
    let id = row
        .get(&shape.key)
        .and_then(id_of)
        .ok_or_else(|| format!("a row of {} has no usable key", shape.table))?;
    let mut attributes = Map::with_capacity(row.len());
    for (name, value) in row {
        if name == shape.key || value.is_null() {
            continue;
        }
        let Some(attribute) = def.attribute(&name) else {
            continue;
        };
        let value = match (attribute.kind, value) {
            (AttributeType::DateTime, Value::String(s)) => Value::String(instant(&s).unwrap_or(s)),
            (AttributeType::Boolean, Value::Number(n)) => match n.as_i64() {
                Some(0) => Value::Bool(false),
                Some(1) => Value::Bool(true),
                _ => Value::Number(n),
            },
            (AttributeType::Lookup, Value::Number(n)) => Value::String(n.to_string()),
            (_, v) => v,
        };
        attributes.insert(name, value);
    }
    Ok((id, attributes))
}

/// Attributes in the client's normal form (as they are kept, compared and hashed); a value
/// the client could not take stays as it is, for its own checks to name.
fn normal(def: &EntityDef, attributes: Map<String, Value>) -> Map<String, Value> {
    normalize_owned(def, attributes.clone(), Source::Json).unwrap_or(attributes)
}

/// Whether the database made the row other than the write asked: a value it changed (a
/// trigger, a column's scale) or filled (a default). Such a row must travel back to the
/// client, since the write itself is not echoed. `before` and `after` are the row read before
/// and after the write; `sent` the attributes written (a null clears).
pub fn altered(
    def: &EntityDef,
    shape: &Shape,
    before: Option<&str>,
    after: &str,
    sent: &Map<String, Value>,
) -> bool {
    let read = |text: &str| {
        record_of(def, shape, text)
            .map(|(_, a)| normal(def, a))
            .ok()
    };
    let Some(after) = read(after) else {
        return true;
    };
    let before = before.and_then(read).unwrap_or_default();
    let sent = normal(
        def,
        sent.iter()
            .filter(|(k, _)| **k != shape.key)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    def.attributes.iter().any(|a| {
        let name = a.name.as_str();
        let now = after.get(name);
        match sent.get(name) {
            Some(v) => now != Some(v).filter(|v| !v.is_null()),
            None => now != before.get(name),
        }
    })
}

/// A version of a row: the same values give the same version, any change another one.
pub fn version_of(attributes: &Map<String, Value>) -> i64 {
    let text = serde_json::to_string(attributes).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    (i64::from_be_bytes(bytes) & i64::MAX).max(1)
}

/// What the database reads into the row for an upsert of `id` with `attributes`: the key and
/// each given column (a null clears it). An attribute with no column is named.
pub fn row_object(
    shape: &Shape,
    id: &str,
    attributes: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, String> {
    let mut object = key_object(shape, id);
    for (name, value) in attributes.into_iter().flatten() {
        if name == &shape.key {
            continue;
        }
        if !shape.columns.iter().any(|c| c == name) {
            return Err(format!(
                "attribute '{name}' has no column in table {}",
                shape.table
            ));
        }
        object.insert(name.clone(), value.clone());
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn instants_come_to_rfc3339_in_utc() {
        for (given, read) in [
            ("2026-03-01T10:00:00+02:00", "2026-03-01T08:00:00Z"),
            ("2026-03-01 10:00:00", "2026-03-01T10:00:00Z"),
            ("2026-03-01T10:00:00.250", "2026-03-01T10:00:00.250Z"),
        ] {
            assert_eq!(instant(given).as_deref(), Some(read), "{given}");
        }
        assert_eq!(instant("yesterday"), None);
    }

    #[test]
    fn a_version_follows_the_values() {
        let a: Map<String, Value> = serde_json::from_str(r#"{"name":"A","n":1}"#).unwrap();
        let b: Map<String, Value> = serde_json::from_str(r#"{"name":"A","n":2}"#).unwrap();
        assert_eq!(version_of(&a), version_of(&a.clone()));
        assert_ne!(version_of(&a), version_of(&b));
        assert!(version_of(&a) > 0);
    }
}
