//! Checking a write against the metadata: every attribute known, of its type, within its
//! limits, the required ones present. Values leave in their normalized form (see
//! [`AttributeType`]).

use chrono::{DateTime, NaiveDate, SecondsFormat, Timelike, Utc};
use serde_json::{Map, Value};

use super::decimal;
use super::error::Code;
use super::metadata::{AttributeDef, AttributeType, EntityDef};
use super::names::RecordId;

/// Why a write was refused, naming the attribute at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRecord {
    /// `unknown_attribute`, `invalid_attribute_value`, `missing_required_attribute`,
    /// `attribute_too_long` or `invalid_option`.
    pub code: Code,
    pub attribute: String,
    pub message: String,
}

/// Where the values came from: XML carries every value as text, so numbers and booleans are
/// read from their text there, while JSON must carry them as JSON numbers and booleans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Json,
    Xml,
}

/// Checks and normalizes each given attribute (null clears a value; a required one cannot be
/// cleared). Whether the required ones are all present is [`check_required`]'s job, once the
/// final state of the record is known.
pub fn normalize(
    entity: &EntityDef,
    input: &Map<String, Value>,
    source: Source,
) -> Result<Map<String, Value>, InvalidRecord> {
    normalize_owned(entity, input.clone(), source)
}

/// [`normalize`] of attributes the caller owns: values already in their normalized form (most
/// of them: strings, booleans, canonical dates) stay where they are, uncopied.
pub fn normalize_owned(
    entity: &EntityDef,
    mut attributes: Map<String, Value>,
    source: Source,
) -> Result<Map<String, Value>, InvalidRecord> {
    for (name, value) in attributes.iter_mut() {
        let def = entity.attribute(name).ok_or_else(|| InvalidRecord {
            code: Code::UnknownAttribute,
            attribute: name.clone(),
            message: format!("entity '{}' has no attribute '{name}'", entity.name),
        })?;
        if let Some(normalized) = normalize_value(def, value, source)? {
            *value = normalized;
        }
        if value.is_null() && def.required {
            return Err(InvalidRecord {
                code: Code::MissingRequiredAttribute,
                attribute: name.clone(),
                message: format!("attribute '{name}' is required and cannot be empty"),
            });
        }
    }
    Ok(attributes)
}

/// Every required attribute of `entity` has a value in `attributes`.
pub fn check_required(
    entity: &EntityDef,
    attributes: &Map<String, Value>,
) -> Result<(), InvalidRecord> {
    match entity
        .attributes
        .iter()
        .find(|a| a.required && attributes.get(a.name.as_str()).is_none_or(Value::is_null))
    {
        Some(a) => Err(InvalidRecord {
            code: Code::MissingRequiredAttribute,
            attribute: a.name.to_string(),
            message: format!("attribute '{}' is required", a.name),
        }),
        None => Ok(()),
    }
}

/// Attributes as a JSON object without their nulls (an attribute set to null is absent).
pub struct WithoutNulls<'a>(pub &'a Map<String, Value>);

impl serde::Serialize for WithoutNulls<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (k, v) in self.0.iter().filter(|(_, v)| !v.is_null()) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The normalized form of one value, or `None` when it already is in that form.
fn normalize_value(
    def: &AttributeDef,
    value: &Value,
    source: Source,
) -> Result<Option<Value>, InvalidRecord> {
    if value.is_null() {
        return Ok(None);
    }
    let name = def.name.as_str();
    let wrong = |expected: &str| InvalidRecord {
        code: Code::InvalidAttributeValue,
        attribute: name.to_owned(),
        message: format!("attribute '{name}' must be {expected} ({:?})", def.kind),
    };
    let xml_text = || match (source, value) {
        (Source::Xml, Value::String(s)) => Some(s.trim()),
        _ => None,
    };
    // A text value rewritten to `canonical`, kept when it already reads so.
    let text_as = |s: &str, canonical: String| (s != canonical).then(|| Value::String(canonical));
    match def.kind {
        AttributeType::String | AttributeType::Memo => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            if let Some(max) = def.max_length {
                let len = s.chars().count();
                if len > max as usize {
                    return Err(InvalidRecord {
                        code: Code::AttributeTooLong,
                        attribute: name.to_owned(),
                        message: format!("attribute '{name}' is {len} characters long; at most {max} are allowed"),
                    });
                }
            }
            Ok(None)
        }
        AttributeType::Integer | AttributeType::Picklist => {
            let n = match value {
                Value::Number(n) => n.as_i64(),
                _ => xml_text().and_then(|t| t.parse::<i64>().ok()),
            }
            .ok_or_else(|| wrong("a whole number"))?;
            if def.kind == AttributeType::Picklist {
                let options = def.options.as_deref().unwrap_or_default();
                if !options.iter().any(|o| o.value == n) {
                    let allowed: Vec<String> =
                        options.iter().map(|o| o.value.to_string()).collect();
                    return Err(InvalidRecord {
                        code: Code::InvalidOption,
                        attribute: name.to_owned(),
                        message: format!(
                            "{n} is not an option of '{name}' (options: {})",
                            allowed.join(", ")
                        ),
                    });
                }
            }
            Ok(Some(Value::from(n)))
        }
        // Exact: a JSON number or a text (in JSON as in XML), every digit kept.
        AttributeType::Decimal | AttributeType::Money => decimal::of_value(value)
            .map(|d| Some(decimal::to_value(d)))
            .ok_or_else(|| wrong("an exact decimal number, as a number or a string")),
        AttributeType::Boolean => match value {
            Value::Bool(_) => Ok(None),
            _ => match xml_text() {
                Some("true" | "1") => Ok(Some(Value::Bool(true))),
                Some("false" | "0") => Ok(Some(Value::Bool(false))),
                _ => Err(wrong("true or false")),
            },
        },
        AttributeType::DateTime => {
            let s = value
                .as_str()
                .ok_or_else(|| wrong("an RFC 3339 date and time"))?;
            let t = DateTime::parse_from_rfc3339(s.trim())
                .map_err(|_| wrong("an RFC 3339 date and time"))?;
            // A whole second in UTC as `YYYY-MM-DDTHH:MM:SSZ` is its own normal form: most
            // values are, and formatting each again was a tenth of normalizing a record.
            let b = s.as_bytes();
            if b.len() == 20 && b[10] == b'T' && b[19] == b'Z' && t.nanosecond() == 0 {
                return Ok(None);
            }
            Ok(text_as(
                s,
                t.with_timezone(&Utc)
                    .to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ))
        }
        AttributeType::Date => {
            let s = value.as_str().ok_or_else(|| wrong("a date YYYY-MM-DD"))?;
            let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| wrong("a date YYYY-MM-DD"))?;
            Ok(text_as(s, d.format("%Y-%m-%d").to_string()))
        }
        AttributeType::Uniqueidentifier => {
            let s = value.as_str().ok_or_else(|| wrong("a UUID"))?;
            let u = uuid::Uuid::parse_str(s.trim()).map_err(|_| wrong("a UUID"))?;
            Ok(text_as(s, u.hyphenated().to_string()))
        }
        AttributeType::Lookup => {
            let s = value.as_str().ok_or_else(|| wrong("the id of a record"))?;
            let id = RecordId::parse(s.trim()).map_err(|_| wrong("the id of a record"))?;
            Ok(text_as(s, id.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::metadata::EntityDefinitionInput;
    use crate::domain::names::LogicalName;
    use serde_json::json;

    fn account() -> EntityDef {
        let input: EntityDefinitionInput = serde_json::from_value(json!({
            "PrimaryName": "name",
            "Attributes": [
                {"Name": "name", "Type": "String", "Required": true, "MaxLength": 5},
                {"Name": "employees", "Type": "Integer"},
                {"Name": "revenue", "Type": "Money"},
                {"Name": "active", "Type": "Boolean"},
                {"Name": "founded", "Type": "Date"},
                {"Name": "seen", "Type": "DateTime"},
                {"Name": "statecode", "Type": "Picklist", "Options": [{"Value": 0}, {"Value": 1}]},
                {"Name": "parent", "Type": "Lookup", "Target": "account"}
            ]
        }))
        .unwrap();
        input
            .into_entity(LogicalName::parse("account").unwrap())
            .unwrap()
    }

    fn fails(input: Value, source: Source) -> (String, &'static str) {
        let e = normalize(&account(), input.as_object().unwrap(), source).unwrap_err();
        (e.attribute, e.code.as_str())
    }

    #[test]
    fn values_are_normalized() {
        let out = normalize(
            &account(),
            json!({"seen": "2026-01-02T03:04:05+02:00", "parent": "0190F5C2-7A3B-7C1D-8E2F-123456789ABC"})
                .as_object()
                .unwrap(),
            Source::Json,
        )
        .unwrap();
        assert_eq!(out["seen"], "2026-01-02T01:04:05Z");
        assert_eq!(out["parent"], "0190f5c2-7a3b-7c1d-8e2f-123456789abc");
    }

    #[test]
    fn every_spelling_of_an_instant_comes_to_one() {
        for given in [
            "2026-01-02T01:04:05Z",
            "2026-01-02t01:04:05z",
            "2026-01-02T01:04:05.000Z",
            "2026-01-02T01:04:05+00:00",
            "2026-01-02T02:04:05+01:00",
        ] {
            let out = normalize(
                &account(),
                json!({"seen": given}).as_object().unwrap(),
                Source::Json,
            )
            .unwrap();
            assert_eq!(out["seen"], "2026-01-02T01:04:05Z", "{given}");
        }
        let out = normalize(
            &account(),
            json!({"seen": "2026-01-02T01:04:05.250Z"})
                .as_object()
                .unwrap(),
            Source::Json,
        )
        .unwrap();
        assert_eq!(out["seen"], "2026-01-02T01:04:05.250Z");
    }

    #[test]
    fn xml_text_is_read_by_type_but_json_must_be_typed() {
        let xml = json!({"employees": "12", "active": "true", "revenue": "1.5", "statecode": "1"});
        let out = normalize(&account(), xml.as_object().unwrap(), Source::Xml).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"employees": 12, "active": true, "revenue": 1.5, "statecode": 1})
        );
        assert_eq!(
            fails(json!({"employees": "12"}), Source::Json),
            ("employees".into(), "invalid_attribute_value")
        );
    }

    #[test]
    fn each_rule_names_its_attribute() {
        assert_eq!(
            fails(json!({"nope": 1}), Source::Json),
            ("nope".into(), "unknown_attribute")
        );
        assert_eq!(
            fails(json!({"name": "too long"}), Source::Json),
            ("name".into(), "attribute_too_long")
        );
        assert_eq!(
            fails(json!({"name": null}), Source::Json),
            ("name".into(), "missing_required_attribute")
        );
        assert_eq!(
            fails(json!({"statecode": 7}), Source::Json),
            ("statecode".into(), "invalid_option")
        );
        assert_eq!(
            fails(json!({"founded": "2026-13-01"}), Source::Json),
            ("founded".into(), "invalid_attribute_value")
        );
        assert_eq!(
            fails(json!({"active": 1}), Source::Json),
            ("active".into(), "invalid_attribute_value")
        );
        let missing = check_required(&account(), &Map::new()).unwrap_err();
        assert_eq!(missing.attribute, "name");
    }
}
