//! Snapshots (NexJ's Get and Send): which way one goes, and the filter that narrows one to the
//! records whose date falls in a range — with undated records or not, recurring items or not.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::error::{Code, Refusal};
use super::metadata::{AttributeType, EntityDef};

/// Which way a snapshot goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SnapshotDirection {
    /// Server → client: the client ends with exactly the server's records.
    Get,
    /// Client → server: the server ends with exactly the client's records.
    Send,
}
wire_names!(SnapshotDirection { Get, Send });

/// The date option that is not an attribute: when the record was last modified on its side.
pub const MODIFIED_ON: &str = "ModifiedOn";

/// Which items a filter with `Recurrence` keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum RecurrenceInclude {
    Recurring,
    NonRecurring,
    #[default]
    Both,
}
wire_names!(RecurrenceInclude {
    Recurring,
    NonRecurring,
    Both
});

/// How recurring items are told apart and how far their recurrence runs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Recurrence {
    /// `Both` when absent.
    #[serde(default)]
    pub include: RecurrenceInclude,
    /// A Boolean attribute: true for a recurring item (`isrecurring` when absent).
    #[serde(default)]
    #[schema(example = "isrecurring")]
    pub recurring_attribute: String,
    /// A DateTime or Date attribute: where the recurrence ends, open-ended when empty
    /// (`recurrenceend` when absent).
    #[serde(default)]
    #[schema(example = "recurrenceend")]
    pub recurrence_end_attribute: String,
}

/// A snapshot filter of one entity: the records whose `DateOption` falls in `[From, To]`
/// (either end open), with the undated ones when `IncludeUndated`, and, with `Recurrence`, the
/// recurring or non-recurring ones; a recurring item is in when its recurrence range (from its
/// `DateOption` value to its `RecurrenceEndAttribute` value) overlaps `[From, To]`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SnapshotFilter {
    /// `ModifiedOn`, or a DateTime or Date attribute of the entity.
    #[schema(example = "scheduledend")]
    pub date_option: String,
    /// Inclusive; a date alone is its midnight (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-01-01T00:00:00Z")]
    pub from: Option<DateTime<Utc>>,
    /// Inclusive; a date alone is the whole of that day (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-03-31T23:59:59Z")]
    pub to: Option<DateTime<Utc>>,
    /// Also the records whose `DateOption` value is empty (false when absent).
    #[serde(default)]
    pub include_undated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Recurrence>,
}

/// Snapshot filters by entity. JSON: `{"task": {...}}`; XML:
/// `<Filters><Entity name="task"><DateOption>…</DateOption>…</Entity></Filters>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct SnapshotFilters(pub BTreeMap<String, SnapshotFilter>);

fn refuse(message: String) -> Refusal {
    Refusal::new(Code::InvalidSnapshotFilter, message)
}

/// Text of a member, `None` when absent.
fn text<'v>(o: &'v Map<String, Value>, key: &str) -> Result<Option<&'v str>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Err(format!("{key} must not be empty")),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(format!("{key} must be text")),
    }
}

/// An RFC 3339 instant, or a date: its first instant, or with `end` its last.
fn instant(key: &str, text: &str, end: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let time = if end {
            NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999).unwrap_or(NaiveTime::MIN)
        } else {
            NaiveTime::MIN
        };
        return Ok(date.and_time(time).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| {
            format!("{key} '{text}' is neither an RFC 3339 datetime nor a YYYY-MM-DD date")
        })
}

fn only_members(o: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), String> {
    match o.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!("{what} has no member '{k}'")),
        None => Ok(()),
    }
}

impl SnapshotFilter {
    /// Reads a filter from its JSON form or from what the XML reader made of it (text).
    pub fn from_value(value: &Value) -> Result<Self, String> {
        let o = value
            .as_object()
            .ok_or("a snapshot filter must be an object")?;
        only_members(
            o,
            &[
                "DateOption",
                "From",
                "To",
                "IncludeUndated",
                "Recurrence",
                "name",
            ],
            "a snapshot filter",
        )?;
        let date_option = text(o, "DateOption")?
            .ok_or("a snapshot filter needs a DateOption")?
            .to_owned();
        let from = text(o, "From")?
            .map(|t| instant("From", t, false))
            .transpose()?;
        let to = text(o, "To")?.map(|t| instant("To", t, true)).transpose()?;
        let include_undated = match o.get("IncludeUndated") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            // XML gives text.
            Some(Value::String(s)) => match s.trim() {
                "false" => false,
                "true" => true,
                other => return Err(format!("IncludeUndated '{other}' is not true or false")),
            },
            Some(_) => return Err("IncludeUndated must be true or false".to_owned()),
        };
        let recurrence = match o.get("Recurrence") {
            None | Some(Value::Null) => None,
            Some(Value::Object(r)) => {
                only_members(
                    r,
                    &["Include", "RecurringAttribute", "RecurrenceEndAttribute"],
                    "Recurrence",
                )?;
                let include = match text(r, "Include")? {
                    None => RecurrenceInclude::Both,
                    Some(t) => RecurrenceInclude::parse(t).ok_or_else(|| {
                        format!("Recurrence Include '{t}' is not Recurring, NonRecurring or Both")
                    })?,
                };
                Some(Recurrence {
                    include,
                    recurring_attribute: text(r, "RecurringAttribute")?
                        .unwrap_or("isrecurring")
                        .to_owned(),
                    recurrence_end_attribute: text(r, "RecurrenceEndAttribute")?
                        .unwrap_or("recurrenceend")
                        .to_owned(),
                })
            }
            Some(_) => return Err("Recurrence must be an object".to_owned()),
        };
        Ok(Self {
            date_option,
            from,
            to,
            include_undated,
            recurrence,
        })
    }

    fn by_modified_on(&self) -> bool {
        self.date_option.eq_ignore_ascii_case(MODIFIED_ON)
    }

    /// Checks the filter against the entity's metadata: a 422 naming the entity, the
    /// attribute and the reason.
    pub fn validate(&self, def: &EntityDef) -> Result<(), Refusal> {
        let entity = def.name.as_str();
        let typed = |member: &str, name: &str, wanted: &[AttributeType]| {
            let named = |r: Refusal| {
                r.with("entity", entity)
                    .with("attribute", name)
                    .field(member)
            };
            match def.attribute(name) {
                None => Err(named(refuse(format!(
                    "{member} of the snapshot filter of '{entity}' names '{name}', which it does \
                     not have"
                )))),
                Some(a) if !wanted.contains(&a.kind) => Err(named(refuse(format!(
                    "{member} of the snapshot filter of '{entity}' names '{name}', a {:?} \
                     attribute; it needs {}",
                    a.kind,
                    if wanted == [AttributeType::Boolean] {
                        "a Boolean"
                    } else {
                        "a DateTime or a Date"
                    }
                )))),
                Some(_) => Ok(()),
            }
        };
        let dates = [AttributeType::DateTime, AttributeType::Date];
        if !self.by_modified_on() {
            typed("DateOption", &self.date_option, &dates)?;
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if to < from {
                return Err(refuse(format!(
                    "the snapshot filter of '{entity}' has To ({}) before From ({})",
                    to.to_rfc3339(),
                    from.to_rfc3339()
                ))
                .with("entity", entity)
                .field("To"));
            }
        }
        if let Some(r) = &self.recurrence {
            typed(
                "RecurringAttribute",
                &r.recurring_attribute,
                &[AttributeType::Boolean],
            )?;
            if r.include != RecurrenceInclude::NonRecurring {
                typed(
                    "RecurrenceEndAttribute",
                    &r.recurrence_end_attribute,
                    &dates,
                )?;
            }
        }
        Ok(())
    }

    /// Does a record (its stored attributes, and when it was last modified on its side) match?
    pub fn matches(&self, attributes: &Map<String, Value>, modified_on: DateTime<Utc>) -> bool {
        let date = if self.by_modified_on() {
            Some(modified_on)
        } else {
            date_value(attributes.get(&self.date_option))
        };
        let recurring = self.recurrence.as_ref().map(|r| {
            matches!(
                attributes.get(&r.recurring_attribute),
                Some(Value::Bool(true))
            ) || matches!(attributes.get(&r.recurring_attribute), Some(Value::String(s)) if s == "true")
        });
        match (self.recurrence.as_ref().map(|r| r.include), recurring) {
            (Some(RecurrenceInclude::Recurring), Some(false))
            | (Some(RecurrenceInclude::NonRecurring), Some(true)) => return false,
            _ => {}
        }
        let Some(date) = date else {
            return self.include_undated;
        };
        let after_from = |d: DateTime<Utc>| self.from.is_none_or(|f| d >= f);
        let before_to = |d: DateTime<Utc>| self.to.is_none_or(|t| d <= t);
        match (&self.recurrence, recurring) {
            // A recurring item: its range from the date to the recurrence's end (open when
            // empty) overlaps the window.
            (Some(r), Some(true)) if !self.by_modified_on() => {
                let end = date_value(attributes.get(&r.recurrence_end_attribute));
                before_to(date) && end.is_none_or(after_from)
            }
            _ => after_from(date) && before_to(date),
        }
    }
}

/// A stored DateTime (RFC 3339) or Date (midnight UTC) value; `None` when empty.
fn date_value(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let text = value?.as_str()?.trim();
    if text.is_empty() {
        return None;
    }
    instant("", text, false).ok()
}

impl<'de> Deserialize<'de> for SnapshotFilter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_value(&value).map_err(D::Error::custom)
    }
}

impl SnapshotFilters {
    fn from_value(value: &Value) -> Result<Self, String> {
        let mut out = BTreeMap::new();
        match value {
            Value::Object(o) if o.contains_key("Entity") && o.len() == 1 => {
                let entities: Vec<&Value> = match &o["Entity"] {
                    Value::Array(a) => a.iter().collect(),
                    one => vec![one],
                };
                for e in entities {
                    let name = e
                        .get("name")
                        .and_then(Value::as_str)
                        .ok_or("each Filters Entity needs a name attribute")?;
                    out.insert(name.trim().to_owned(), SnapshotFilter::from_value(e)?);
                }
            }
            Value::Object(o) => {
                for (entity, filter) in o {
                    let filter = SnapshotFilter::from_value(filter)
                        .map_err(|e| format!("Filters of '{entity}': {e}"))?;
                    out.insert(entity.clone(), filter);
                }
            }
            _ => return Err("Filters must map entities to their snapshot filters".to_owned()),
        }
        Ok(Self(out))
    }
}

impl<'de> Deserialize<'de> for SnapshotFilters {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        Self::from_value(&value).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::metadata::EntityDefinitionInput;
    use crate::domain::names::LogicalName;

    fn appointment() -> EntityDef {
        let input: EntityDefinitionInput = serde_json::from_value(json!({"Attributes": [
            {"Name": "subject", "Type": "String"},
            {"Name": "scheduledstart", "Type": "DateTime"},
            {"Name": "isrecurring", "Type": "Boolean"},
            {"Name": "recurrenceend", "Type": "Date"}
        ]}))
        .unwrap();
        input
            .into_entity(LogicalName::parse("appointment").unwrap())
            .unwrap()
    }

    fn filter(v: Value) -> SnapshotFilter {
        SnapshotFilter::from_value(&v).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn record(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn the_range_is_inclusive_and_either_end_may_be_open() {
        let f = filter(
            json!({"DateOption": "scheduledstart", "From": "2026-01-01", "To": "2026-01-31"}),
        );
        let on = |d: &str| f.matches(&record(json!({"scheduledstart": d})), Utc::now());
        assert!(on("2026-01-01T00:00:00Z"));
        assert!(on("2026-01-31T23:59:59Z"), "a date To is the whole day");
        assert!(!on("2026-02-01T00:00:00Z"));
        assert!(!on("2025-12-31T23:59:59Z"));
        let open = filter(json!({"DateOption": "scheduledstart", "From": "2026-01-01"}));
        assert!(open.matches(
            &record(json!({"scheduledstart": "2099-01-01T00:00:00Z"})),
            Utc::now()
        ));
    }

    #[test]
    fn undated_records_are_in_only_when_asked() {
        let without = filter(json!({"DateOption": "scheduledstart", "From": "2026-01-01"}));
        let with = filter(
            json!({"DateOption": "scheduledstart", "From": "2026-01-01", "IncludeUndated": "true"}),
        );
        let undated = record(json!({"subject": "x", "scheduledstart": null}));
        assert!(!without.matches(&undated, Utc::now()));
        assert!(with.matches(&undated, Utc::now()));
        assert!(with.matches(&record(json!({})), Utc::now()));
    }

    #[test]
    fn a_recurring_item_is_in_when_its_range_overlaps_the_window() {
        let f = filter(
            json!({"DateOption": "scheduledstart", "From": "2026-03-01", "To": "2026-03-31",
            "Recurrence": {"Include": "Recurring"}}),
        );
        let item = |start: &str, end: Value, recurring: bool| {
            record(json!({"scheduledstart": start, "recurrenceend": end, "isrecurring": recurring}))
        };
        let now = Utc::now();
        assert!(f.matches(
            &item("2026-01-05T09:00:00Z", json!("2026-06-30"), true),
            now
        ));
        assert!(
            f.matches(&item("2026-01-05T09:00:00Z", Value::Null, true), now),
            "open-ended"
        );
        assert!(!f.matches(
            &item("2026-01-05T09:00:00Z", json!("2026-02-28"), true),
            now
        ));
        assert!(!f.matches(&item("2026-04-01T09:00:00Z", Value::Null, true), now));
        assert!(
            !f.matches(&item("2026-03-05T09:00:00Z", Value::Null, false), now),
            "not recurring"
        );
        let single = filter(
            json!({"DateOption": "scheduledstart", "From": "2026-03-01", "To": "2026-03-31",
            "Recurrence": {"Include": "NonRecurring"}}),
        );
        assert!(single.matches(&item("2026-03-05T09:00:00Z", Value::Null, false), now));
        assert!(!single.matches(
            &item("2026-01-05T09:00:00Z", json!("2026-06-30"), true),
            now
        ));
    }

    #[test]
    fn modified_on_is_the_record_s_own() {
        let f = filter(json!({"DateOption": "ModifiedOn", "From": "2026-01-01T00:00:00Z"}));
        assert!(f.matches(&record(json!({})), at("2026-05-01T00:00:00Z")));
        assert!(!f.matches(&record(json!({})), at("2025-05-01T00:00:00Z")));
    }

    #[test]
    fn a_bad_filter_names_the_entity_attribute_and_reason() {
        let def = appointment();
        let unknown = filter(json!({"DateOption": "nosuch"}))
            .validate(&def)
            .unwrap_err();
        assert_eq!(unknown.code, Code::InvalidSnapshotFilter);
        assert_eq!(unknown.members["attribute"], "nosuch");
        assert_eq!(unknown.members["entity"], "appointment");
        let wrong = filter(json!({"DateOption": "subject"}))
            .validate(&def)
            .unwrap_err();
        assert!(wrong.detail.contains("String"), "{}", wrong.detail);
        let backwards = filter(
            json!({"DateOption": "scheduledstart", "From": "2026-02-01", "To": "2026-01-01"}),
        )
        .validate(&def)
        .unwrap_err();
        assert!(backwards.detail.contains("before"), "{}", backwards.detail);
        assert!(
            filter(json!({"DateOption": "scheduledstart", "Recurrence": {"Include": "Both"}}))
                .validate(&def)
                .is_ok()
        );
        assert!(SnapshotFilter::from_value(&json!({"DateOption": "x", "Color": 1})).is_err());
        assert!(SnapshotFilter::from_value(&json!({"DateOption": "x", "From": "soon"})).is_err());
    }

    #[test]
    fn filters_read_from_json_and_from_xml_shapes() {
        let json_form =
            SnapshotFilters::from_value(&json!({"task": {"DateOption": "ModifiedOn"}})).unwrap();
        let xml_form = SnapshotFilters::from_value(
            &json!({"Entity": {"name": "task", "DateOption": "ModifiedOn", "IncludeUndated": "false"}}),
        )
        .unwrap();
        assert_eq!(json_form, xml_form);
    }
}
