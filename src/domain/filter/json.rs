//! The JSON form: parsing it, and writing the canonical one.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::error::{parse_operator, shorten, too_deep, Ctx};
use super::{
    Condition, Filter, FilterError, FilterType, SyncFilters, ValidFilters, MAX_FILTER_DEPTH,
};

impl SyncFilters {
    /// Parses the JSON form: an object mapping entity names to filters. A filter has the keys
    /// `Type` (`"and"`, the default, or `"or"`), `Conditions` and `Filters`, all optional; a
    /// condition has `Attribute`, `Operator`, and `Value` (a number, string or boolean) or
    /// `Values` (an array of them, for in, not-in, between, not-between), or neither. A `null`
    /// member counts as absent. Unknown keys are errors.
    pub fn from_json(value: &Value) -> Result<Self, FilterError> {
        let Some(object) = value.as_object() else {
            return Err(Ctx::default()
                .fail("SyncFilters must be a JSON object mapping entity names to filters"));
        };
        let mut entities = BTreeMap::new();
        for (entity, filter) in object {
            if entity.is_empty() {
                return Err(Ctx::default().fail("an entity name in SyncFilters is empty"));
            }
            entities.insert(entity.clone(), json_filter(filter, entity, 1)?);
        }
        Self { entities }.check_caps()
    }
}

fn present<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).filter(|v| !v.is_null())
}

fn json_filter(value: &Value, entity: &str, depth: usize) -> Result<Filter, FilterError> {
    let ctx = Ctx::entity(entity);
    if depth > MAX_FILTER_DEPTH {
        return Err(too_deep(ctx));
    }
    let Some(object) = value.as_object() else {
        return Err(ctx.fail("a filter must be a JSON object with Type, Conditions and Filters"));
    };
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "Type" | "Conditions" | "Filters"))
    {
        return Err(ctx.fail(format_args!(
            "unknown key '{}' in a filter; expected Type, Conditions, Filters",
            shorten(key)
        )));
    }
    let kind = match present(object, "Type") {
        None => FilterType::And,
        Some(Value::String(t)) => t.parse().map_err(|e: FilterError| ctx.fail(e.detail()))?,
        Some(_) => return Err(ctx.fail("a filter's Type must be the string 'and' or 'or'")),
    };
    let conditions = match present(object, "Conditions") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|c| json_condition(c, entity))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ctx.fail("a filter's Conditions must be an array")),
    };
    let filters = match present(object, "Filters") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|f| json_filter(f, entity, depth + 1))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ctx.fail("a filter's Filters must be an array of filters")),
    };
    Ok(Filter {
        kind,
        conditions,
        filters,
    })
}

fn json_condition(value: &Value, entity: &str) -> Result<Condition, FilterError> {
    let ctx = Ctx::entity(entity);
    let Some(object) = value.as_object() else {
        return Err(ctx.fail(
            "a condition must be a JSON object with Attribute, Operator and Value or Values",
        ));
    };
    let attribute = match present(object, "Attribute") {
        Some(Value::String(a)) if !a.is_empty() => a.clone(),
        _ => return Err(ctx.fail("a condition needs an Attribute, a non-empty string")),
    };
    let operator = match present(object, "Operator") {
        Some(Value::String(op)) => parse_operator(op, entity, &attribute)?,
        _ => {
            return Err(Ctx::condition(entity, &attribute, None).fail(format_args!(
                "the condition on attribute '{attribute}' needs an Operator, a string"
            )));
        }
    };
    let ctx = Ctx::condition(entity, &attribute, Some(operator.as_str()));
    let about = format!("the condition on attribute '{attribute}' (operator '{operator}')");
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "Attribute" | "Operator" | "Value" | "Values"))
    {
        return Err(ctx.fail(format_args!(
            "unknown key '{}' in {about}; expected Attribute, Operator, Value, Values",
            shorten(key)
        )));
    }
    let scalar = |v: &Value, key: &str| match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(v.clone()),
        _ => Err(ctx.fail(format_args!(
            "{about}: {key} must be a number, a string or a boolean"
        ))),
    };
    let values = match (present(object, "Value"), present(object, "Values")) {
        (Some(_), Some(_)) => {
            return Err(ctx.fail(format_args!("{about} has both Value and Values")));
        }
        (None, None) => Vec::new(),
        (Some(Value::Array(_)), None) => {
            return Err(ctx.fail(format_args!(
                "{about}: Value must be a single number, string or boolean; a list goes in Values"
            )));
        }
        (Some(v), None) => vec![scalar(v, "Value")?],
        (None, Some(Value::Array(items))) => {
            if !operator.takes_list() {
                return Err(ctx.fail(format_args!(
                    "{about}: operator '{operator}' takes a single Value; Values are only for \
                     in, not-in, between and not-between"
                )));
            }
            items
                .iter()
                .map(|v| scalar(v, "each of Values"))
                .collect::<Result<_, _>>()?
        }
        (None, Some(_)) => {
            return Err(ctx.fail(format_args!("{about}: Values must be an array")));
        }
    };
    Ok(Condition {
        attribute,
        operator,
        values,
    })
}

// ---------------------------------------------------------------------------------------------
// The canonical JSON form
// ---------------------------------------------------------------------------------------------

impl ValidFilters {
    /// The canonical JSON form: `{"entity": {"Type": …, "Conditions": […], "Filters": […]}}`.
    /// [`SyncFilters::from_json`] gives back exactly the filters.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        for (entity, e) in &self.entities {
            object.insert(entity.clone(), filter_json(&e.filter));
        }
        Value::Object(object)
    }
}

fn filter_json(filter: &Filter) -> Value {
    let mut object = Map::new();
    object.insert("Type".to_owned(), Value::from(filter.kind.as_str()));
    let conditions = filter.conditions.iter().map(condition_json).collect();
    object.insert("Conditions".to_owned(), Value::Array(conditions));
    let filters = filter.filters.iter().map(filter_json).collect();
    object.insert("Filters".to_owned(), Value::Array(filters));
    Value::Object(object)
}

fn condition_json(condition: &Condition) -> Value {
    let mut object = Map::new();
    object.insert(
        "Attribute".to_owned(),
        Value::from(condition.attribute.as_str()),
    );
    object.insert(
        "Operator".to_owned(),
        Value::from(condition.operator.as_str()),
    );
    if condition.operator.takes_list() {
        object.insert("Values".to_owned(), Value::Array(condition.values.clone()));
    } else if let [value] = condition.values.as_slice() {
        object.insert("Value".to_owned(), value.clone());
    }
    Value::Object(object)
}
