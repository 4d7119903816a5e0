//! Sync filters through their public API: the fixtures shared by the test modules.

mod canonical;
mod eval;
mod json;
mod operators;
mod validate;
mod xml;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::values::parse_datetime;
use super::{
    Filter, FilterError, FilterType, Operator, SyncFilters, ValidFilters, MAX_FILTER_DEPTH,
};
use crate::domain::metadata::{AttributeDef, AttributeType, EntityDef, PicklistOption};
use crate::domain::names::LogicalName;

const EXAMPLE_XML: &str = r#"<SyncFilters>
  <Entity name="account">
    <filter type="and">
      <condition attribute="statecode" operator="eq" value="0"/>
      <condition attribute="industrycode" operator="in"><value>1</value><value>7</value></condition>
      <filter type="or">
        <condition attribute="name" operator="like" value="Contoso%"/>
        <condition attribute="modifiedon" operator="last-x-days" value="30"/>
      </filter>
    </filter>
  </Entity>
</SyncFilters>"#;

fn name(s: &str) -> LogicalName {
    LogicalName::parse(s).unwrap()
}

fn attr(n: &str, kind: AttributeType) -> AttributeDef {
    AttributeDef {
        name: name(n),
        kind,
        required: false,
        max_length: None,
        target: (kind == AttributeType::Lookup).then(|| name("account")),
        options: (kind == AttributeType::Picklist).then(|| {
            [1, 7, 9]
                .into_iter()
                .map(|value| PicklistOption { value, label: None })
                .collect()
        }),
    }
}

fn entity(n: &str, attributes: Vec<AttributeDef>) -> EntityDef {
    EntityDef {
        name: name(n),
        display_name: None,
        primary_key: name(&format!("{n}id")),
        primary_name: None,
        attributes,
    }
}

/// `account` as in the brief, and `thing` with one attribute of every type.
fn defs() -> Vec<EntityDef> {
    use AttributeType as T;
    vec![
        entity(
            "account",
            vec![
                attr("statecode", T::Integer),
                attr("industrycode", T::Picklist),
                attr("name", T::String),
            ],
        ),
        entity(
            "thing",
            vec![
                attr("name", T::String),
                attr("notes", T::Memo),
                attr("count", T::Integer),
                attr("rate", T::Decimal),
                attr("price", T::Money),
                attr("active", T::Boolean),
                attr("due", T::DateTime),
                attr("birthday", T::Date),
                attr("ref", T::Uniqueidentifier),
                attr("owner", T::Lookup),
                attr("color", T::Picklist),
            ],
        ),
    ]
}

fn validate(filters: SyncFilters) -> Result<ValidFilters, FilterError> {
    let defs = defs();
    filters.validate(&|n| defs.iter().find(|d| d.name.as_str() == n))
}

fn from_json(value: Value) -> Result<ValidFilters, FilterError> {
    validate(SyncFilters::from_json(&value)?)
}

fn from_xml(text: &str) -> Result<ValidFilters, FilterError> {
    validate(SyncFilters::parse_xml(text)?)
}

fn now() -> DateTime<Utc> {
    parse_datetime("2026-01-31T12:00:00Z").unwrap()
}

fn record(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

/// Evaluates one condition of `thing` against a record holding `attribute: value`.
fn eval(condition: Value, value: Value) -> bool {
    let filters = from_json(json!({"thing": {"Conditions": [condition.clone()]}}))
        .unwrap_or_else(|e| panic!("{condition}: {e}"));
    let attribute = condition["Attribute"].as_str().unwrap();
    let mut rec = Map::new();
    rec.insert(attribute.to_owned(), value);
    filters.matches("thing", &rec, now())
}

fn cond(attribute: &str, operator: &str, value: Value) -> Value {
    json!({"Attribute": attribute, "Operator": operator, "Value": value})
}

fn conds(attribute: &str, operator: &str, values: Value) -> Value {
    json!({"Attribute": attribute, "Operator": operator, "Values": values})
}

fn xml_error(xml: &str) -> FilterError {
    match SyncFilters::parse_xml(xml) {
        Ok(parsed) => validate(parsed).unwrap_err(),
        Err(e) => e,
    }
}

fn json_error(value: Value) -> FilterError {
    match SyncFilters::from_json(&value) {
        Ok(parsed) => validate(parsed).unwrap_err(),
        Err(e) => e,
    }
}

fn one(entity: &str, condition: &str) -> String {
    format!(
        r#"<SyncFilters><Entity name="{entity}"><filter>{condition}</filter></Entity></SyncFilters>"#
    )
}

fn assert_error(
    e: &FilterError,
    entity: Option<&str>,
    attribute: Option<&str>,
    operator: Option<&str>,
    words: &[&str],
) {
    assert_eq!(e.code, "invalid_filter");
    assert_eq!(e.entity.as_deref(), entity, "{e}");
    assert_eq!(e.attribute.as_deref(), attribute, "{e}");
    assert_eq!(e.operator.as_deref(), operator, "{e}");
    assert_eq!(e.to_string(), e.message);
    for part in entity
        .iter()
        .chain(&attribute)
        .chain(&operator)
        .chain(words)
    {
        assert!(e.message.contains(part), "{:?} lacks {part:?}", e.message);
    }
}
