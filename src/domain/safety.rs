//! What keeps a sync from destroying client data: the delete guard (how many deletes a job may
//! make on a link before it stops to ask), and MatchOn (which attributes adopt an existing
//! client record on a link's first sync, instead of creating a second one).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::{Code, Refusal};
use super::metadata::EntityDef;
use super::names::LogicalName;

/// A job holds before deleting more than `count` records, or more than `percent` of the
/// records a link holds on that side. `Off` lets every delete through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteGuard {
    Off,
    Limits { count: u64, percent: u32 },
}

impl Default for DeleteGuard {
    /// As Entra Connect's accidental-delete threshold: 500, and here also 10 %.
    fn default() -> Self {
        Self::Limits {
            count: 500,
            percent: 10,
        }
    }
}

impl DeleteGuard {
    /// Would `deletes` of the `held` records a link holds be held?
    pub fn holds(self, deletes: u64, held: u64) -> bool {
        match self {
            Self::Off => false,
            Self::Limits { count, percent } => {
                deletes > count
                    || deletes.saturating_mul(100) > held.saturating_mul(u64::from(percent))
            }
        }
    }
}

impl fmt::Display for DeleteGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Off => f.write_str("off"),
            Self::Limits { count, percent } => write!(f, "more than {count} or {percent}%"),
        }
    }
}

impl Serialize for DeleteGuard {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Off => s.serialize_str("Off"),
            Self::Limits { count, percent } => {
                serde_json::json!({"Count": count, "Percent": percent}).serialize(s)
            }
        }
    }
}

/// `"Off"`, or `{"Count": n, "Percent": p}` (either may be left out: the default's); in XML
/// `<DeleteGuard>Off</DeleteGuard>` or `<DeleteGuard><Count>…</Count><Percent>…</Percent></DeleteGuard>`.
impl<'de> Deserialize<'de> for DeleteGuard {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        DeleteGuard::from_value(&value).map_err(D::Error::custom)
    }
}

impl DeleteGuard {
    fn from_value(value: &Value) -> Result<Self, String> {
        let number = |v: &Value| -> Option<u64> {
            match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        };
        match value {
            Value::String(s) if s.trim().eq_ignore_ascii_case("off") => Ok(Self::Off),
            Value::Object(o) => {
                let Self::Limits {
                    count: mut c,
                    percent: mut p,
                } = Self::default()
                else {
                    return Err(String::new());
                };
                for (k, v) in o {
                    match k.as_str() {
                        "Count" => {
                            c = number(v).ok_or("DeleteGuard.Count must be a whole number")?
                        }
                        "Percent" => {
                            p = number(v)
                                .and_then(|n| u32::try_from(n).ok())
                                .filter(|n| *n <= 100)
                                .ok_or("DeleteGuard.Percent must be a whole number from 0 to 100")?
                        }
                        other => return Err(format!("DeleteGuard has no member '{other}'")),
                    }
                }
                Ok(Self::Limits {
                    count: c,
                    percent: p,
                })
            }
            _ => Err("DeleteGuard must be \"Off\" or {\"Count\": n, \"Percent\": p}".to_owned()),
        }
    }
}

/// Per entity, the attributes whose values (strings trimmed, compared case-insensitively)
/// identify the same record on both sides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchOn(BTreeMap<LogicalName, Vec<LogicalName>>);

impl MatchOn {
    pub fn new(entries: BTreeMap<LogicalName, Vec<LogicalName>>) -> Result<Self, Refusal> {
        if let Some((entity, _)) = entries.iter().find(|(_, a)| a.is_empty()) {
            return Err(Refusal::new(
                Code::InvalidField,
                format!("MatchOn names no attribute for entity '{entity}'"),
            )
            .field("MatchOn")
            .with("entity", entity.as_str()));
        }
        Ok(Self(entries))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn entries(&self) -> impl Iterator<Item = (&LogicalName, &[LogicalName])> {
        self.0.iter().map(|(e, a)| (e, a.as_slice()))
    }

    /// The attributes that match records of `entity`, when it has any.
    pub fn attributes(&self, entity: &str) -> Option<&[LogicalName]> {
        self.0
            .iter()
            .find(|(e, _)| e.as_str() == entity)
            .map(|(_, a)| a.as_slice())
    }

    /// Every entity MatchOn names is among `defs` (the entities synced) and has the attributes
    /// it names.
    pub fn check(&self, defs: &[EntityDef]) -> Result<(), Refusal> {
        for (entity, attributes) in &self.0 {
            let Some(def) = defs.iter().find(|d| d.name == *entity) else {
                return Err(Refusal::new(
                    Code::InvalidField,
                    format!("MatchOn names entity '{entity}', which the connection does not sync"),
                )
                .field("MatchOn")
                .with("entity", entity.as_str()));
            };
            if let Some(missing) = attributes
                .iter()
                .find(|a| def.attribute(a.as_str()).is_none())
            {
                return Err(Refusal::new(
                    Code::InvalidField,
                    format!("MatchOn names attribute '{missing}', which entity '{entity}' does not have"),
                )
                .field("MatchOn")
                .with("entity", entity.as_str())
                .with("attribute", missing.as_str()));
            }
        }
        Ok(())
    }

    /// What identifies a record of `entity` by its attributes: each value trimmed and
    /// lowercased. `None` when the entity has no MatchOn or an attribute has no value (an
    /// empty key never matches).
    pub fn key(&self, entity: &str, attributes: &Map<String, Value>) -> Option<String> {
        let names = self.attributes(entity)?;
        let mut key = String::new();
        for name in names {
            let text = match attributes.get(name.as_str())? {
                Value::Null => return None,
                Value::String(s) => s.trim().to_lowercase(),
                other => other.to_string(),
            };
            if text.is_empty() {
                return None;
            }
            key.push_str(&text);
            key.push('\u{1f}');
        }
        Some(key)
    }
}

impl Serialize for MatchOn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// `{"account": ["emailaddress1"]}`; in XML
/// `<MatchOn><Entity name="account"><Attribute>emailaddress1</Attribute></Entity></MatchOn>`.
impl<'de> Deserialize<'de> for MatchOn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        MatchOn::from_value(&value).map_err(D::Error::custom)
    }
}

impl MatchOn {
    fn from_value(value: &Value) -> Result<Self, String> {
        let names = |v: &Value, what: &str| -> Result<Vec<LogicalName>, String> {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::String(s) if s.contains(',') => {
                    return s
                        .split(',')
                        .map(|p| LogicalName::parse(p.trim()).map_err(|e| e.to_string()))
                        .collect()
                }
                other => vec![other],
            };
            items
                .into_iter()
                .map(|i| match i {
                    Value::String(s) => LogicalName::parse(s.trim()).map_err(|e| e.to_string()),
                    _ => Err(format!("{what} must be attribute names")),
                })
                .collect()
        };
        let mut entries = BTreeMap::new();
        match value {
            Value::String(s) if s.trim().is_empty() => {}
            Value::Object(o) if o.contains_key("Entity") => {
                let entities: Vec<&Value> = match &o["Entity"] {
                    Value::Array(a) => a.iter().collect(),
                    one => vec![one],
                };
                for e in entities {
                    let name = e
                        .get("name")
                        .and_then(Value::as_str)
                        .ok_or("each MatchOn Entity needs a name attribute")?;
                    let entity = LogicalName::parse(name.trim()).map_err(|e| e.to_string())?;
                    let attrs = e
                        .get("Attribute")
                        .ok_or("each MatchOn Entity needs an Attribute")?;
                    entries.insert(entity, names(attrs, "MatchOn attributes")?);
                }
            }
            Value::Object(o) => {
                for (entity, attrs) in o {
                    let entity = LogicalName::parse(entity.as_str()).map_err(|e| e.to_string())?;
                    entries.insert(entity, names(attrs, "MatchOn attributes")?);
                }
            }
            _ => return Err("MatchOn must map entities to the attributes that match".to_owned()),
        }
        MatchOn::new(entries).map_err(|r| r.detail)
    }
}

/// The OpenAPI form: `"Off"`, or the limits.
impl utoipa::PartialSchema for DeleteGuard {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let whole = |max: Option<u64>| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
                .maximum(max)
        };
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["Off"])),
            )
            .item(
                ObjectBuilder::new()
                    .property("Count", whole(None).description(Some("most deletes (default 500)")))
                    .property(
                        "Percent",
                        whole(Some(100)).description(Some(
                            "most deletes as a percentage of the records the link holds on that side (default 10)",
                        )),
                    )
                    .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false))),
            )
            .description(Some(
                "A job holds before deleting more than Count records, or more than Percent of the \
                 records a link holds on that side, on either side; \"Off\" lets every delete through. \
                 XML: <DeleteGuard><Count>500</Count><Percent>10</Percent></DeleteGuard> or <DeleteGuard>Off</DeleteGuard>.",
            ))
            .examples([serde_json::json!({"Count": 500, "Percent": 10})])
            .into()
    }
}

impl utoipa::ToSchema for DeleteGuard {}

/// The OpenAPI form: entity to attribute names.
impl utoipa::PartialSchema for MatchOn {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        ObjectBuilder::new()
            .additional_properties(Some(
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::String))
                    .min_items(Some(1)),
            ))
            .description(Some(
                "Per entity, the attributes whose values (strings trimmed, any case) identify an \
                 existing client record with a server record on the link's first sync. XML: \
                 <MatchOn><Entity name=\"account\"><Attribute>emailaddress1</Attribute></Entity></MatchOn>.",
            ))
            .examples([serde_json::json!({"account": ["emailaddress1"]})])
            .into()
    }
}

impl utoipa::ToSchema for MatchOn {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_guard_holds_over_either_limit() {
        let g = DeleteGuard::default();
        assert!(!g.holds(100, 1000), "10% is not more than 10%");
        assert!(g.holds(101, 1000));
        assert!(g.holds(501, 100_000));
        assert!(!g.holds(0, 0));
        assert!(
            g.holds(1, 0),
            "any delete of a link that holds nothing is more than 10%"
        );
        assert!(!DeleteGuard::Off.holds(1_000_000, 1));
    }

    #[test]
    fn guards_read_from_json_and_xml_shapes() {
        let off: DeleteGuard =
            serde_json::from_value(json!("Off")).unwrap_or(DeleteGuard::default());
        assert_eq!(off, DeleteGuard::Off);
        let some: DeleteGuard = serde_json::from_value(json!({"Count": "50", "Percent": 5}))
            .unwrap_or(DeleteGuard::Off);
        assert_eq!(
            some,
            DeleteGuard::Limits {
                count: 50,
                percent: 5
            }
        );
        assert!(serde_json::from_value::<DeleteGuard>(json!({"Percent": 101})).is_err());
        assert_eq!(
            serde_json::to_value(some).unwrap_or_default(),
            json!({"Count": 50, "Percent": 5})
        );
    }

    #[test]
    fn match_on_reads_both_shapes_and_keys_ignore_case_and_spaces() {
        let json: MatchOn =
            serde_json::from_value(json!({"account": ["name", "city"]})).unwrap_or_default();
        let xml: MatchOn = serde_json::from_value(
            json!({"Entity": {"name": "account", "Attribute": ["name", "city"]}}),
        )
        .unwrap_or_default();
        assert_eq!(json, xml);
        let a = json!({"name": "  Contoso ", "city": "OSLO"});
        let b = json!({"name": "contoso", "city": "Oslo", "other": 1});
        let key = |v: &Value| json.key("account", v.as_object().unwrap_or(&Map::new()));
        assert_eq!(key(&a), key(&b));
        assert!(key(&a).is_some());
        assert_eq!(
            key(&json!({"name": "contoso"})),
            None,
            "a missing value never matches"
        );
        assert_eq!(json.key("contact", &Map::new()), None);
        assert!(serde_json::from_value::<MatchOn>(json!({"account": []})).is_err());
    }
}
