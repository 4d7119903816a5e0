//! Validation: typing filters against the metadata, and putting their values in the normalized
//! form of their attribute's type.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::{too_deep, Ctx};
use super::eval::{Check, Compiled};
use super::values::{
    format_date, format_instant, parse_bool, parse_date, parse_datetime, parse_instant, show,
};
use super::{
    Arity, Condition, Filter, FilterError, Operator, SyncFilters, ValidEntity, ValidFilters,
    MAX_FILTER_DEPTH,
};
use crate::domain::metadata::{AttributeType, EntityDef};
use crate::domain::names::RecordId;

impl SyncFilters {
    /// Checks every entity, attribute, operator and value against the metadata and normalizes
    /// the values.
    ///
    /// Each value must parse as the attribute's type and is normalized to its JSON form:
    /// `Integer`, `Picklist` → integer (a `Picklist` value must be one of its options);
    /// `Decimal`, `Money` → an exact decimal; `Boolean` → `true`/`false` (from `true`, `false`, `1`, `0`);
    /// `DateTime` → RFC 3339 UTC string (a `YYYY-MM-DD` date means midnight UTC);
    /// `Date` → `YYYY-MM-DD`; `Uniqueidentifier` → lowercase hyphenated UUID; `Lookup` → the
    /// record id (a UUID in lowercase); `String`, `Memo` → the string as given. The values of
    /// `on`, `on-or-after`, `on-or-before` are dates (`YYYY-MM-DD`, or a datetime whose UTC date
    /// is taken); those of the `…-x-…` operators are positive integers. Text values (all of XML's)
    /// are trimmed before parsing as a non-text type; JSON values may be of the type's JSON kind
    /// or a string that parses.
    pub fn validate<'m>(
        self,
        lookup: &dyn Fn(&str) -> Option<&'m EntityDef>,
    ) -> Result<ValidFilters, FilterError> {
        let mut entities = BTreeMap::new();
        for (entity, filter) in self.entities {
            let Some(def) = lookup(&entity) else {
                return Err(Ctx::entity(&entity).fail(format_args!(
                    "there is no entity '{entity}' in the metadata"
                )));
            };
            let (filter, compiled) = check_filter(filter, def, &entity, 1)?;
            entities.insert(entity, ValidEntity { filter, compiled });
        }
        Ok(ValidFilters { entities })
    }

    /// [`SyncFilters::validate`] of filters that may name only `def`'s entity.
    pub fn validate_for(self, def: &EntityDef) -> Result<ValidFilters, FilterError> {
        self.validate(&|name| (name == def.name.as_str()).then_some(def))
    }
}

fn check_filter(
    filter: Filter,
    def: &EntityDef,
    entity: &str,
    depth: usize,
) -> Result<(Filter, Compiled), FilterError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(too_deep(Ctx::entity(entity)));
    }
    let mut conditions = Vec::with_capacity(filter.conditions.len());
    let mut checks = Vec::with_capacity(filter.conditions.len());
    for condition in filter.conditions {
        let (condition, check) = check_condition(condition, def, entity)?;
        conditions.push(condition);
        checks.push(check);
    }
    let mut filters = Vec::with_capacity(filter.filters.len());
    let mut compiled = Vec::with_capacity(filter.filters.len());
    for sub in filter.filters {
        let (sub, sub_compiled) = check_filter(sub, def, entity, depth + 1)?;
        filters.push(sub);
        compiled.push(sub_compiled);
    }
    Ok((
        Filter {
            kind: filter.kind,
            conditions,
            filters,
        },
        Compiled::new(filter.kind, checks, compiled),
    ))
}

fn check_condition(
    condition: Condition,
    def: &EntityDef,
    entity: &str,
) -> Result<(Condition, Check), FilterError> {
    let Condition {
        attribute,
        operator: op,
        values,
    } = condition;
    let ctx = Ctx::condition(entity, &attribute, Some(op.as_str()));
    let Some(kind) = def.filterable_type(&attribute) else {
        return Err(ctx.fail(format_args!(
            "attribute '{attribute}' (operator '{op}') is not an attribute of the entity"
        )));
    };
    if !op.applies_to(kind) {
        return Err(ctx.fail(format_args!(
            "operator '{op}' cannot be used on attribute '{attribute}' of type {kind:?}"
        )));
    }
    let count = values.len();
    let wanted = match op.arity() {
        Arity::None if count != 0 => Some("no value"),
        Arity::One if count != 1 => Some("exactly one value"),
        Arity::Two if count != 2 => Some("exactly 2 values"),
        Arity::AtLeastOne if count == 0 => Some("at least one value"),
        _ => None,
    };
    if let Some(wanted) = wanted {
        return Err(ctx.fail(format_args!(
            "operator '{op}' on attribute '{attribute}' takes {wanted}, got {count}"
        )));
    }
    let options: Option<Vec<i64>> = def
        .attribute(&attribute)
        .and_then(|a| a.options.as_ref())
        .map(|o| o.iter().map(|o| o.value).collect());
    let values = values
        .iter()
        .map(|v| normalize(kind, op, v, options.as_deref(), &attribute, &ctx))
        .collect::<Result<Vec<_>, _>>()?;
    let check = Check::compile(attribute.clone(), kind, op, &values, &ctx)?;
    Ok((
        Condition {
            attribute,
            operator: op,
            values,
        },
        check,
    ))
}

/// One value of a condition, checked and put in the normalized form of the attribute's type.
fn normalize(
    kind: AttributeType,
    op: Operator,
    raw: &Value,
    options: Option<&[i64]>,
    attribute: &str,
    ctx: &Ctx<'_>,
) -> Result<Value, FilterError> {
    use AttributeType as T;
    let bad = |expected: &str| {
        ctx.fail(format_args!(
            "value {} for attribute '{attribute}' (operator '{op}') is not {expected}",
            show(raw)
        ))
    };
    let text = match raw {
        Value::String(s) => Some(s.trim()),
        Value::Number(_) | Value::Bool(_) => None,
        _ => return Err(bad("a number, a string or a boolean")),
    };
    if op.is_on_date() {
        let date = text
            .and_then(|t| parse_date(t).or_else(|| parse_datetime(t).map(|d| d.date_naive())))
            .ok_or_else(|| bad("a date (YYYY-MM-DD) or an RFC 3339 datetime"))?;
        return Ok(Value::String(format_date(date)));
    }
    if op.is_relative() {
        let n = match raw {
            Value::Number(n) => n.as_i64(),
            _ => text.and_then(|t| t.parse::<i64>().ok()),
        };
        return match n {
            Some(n) if n > 0 => Ok(Value::from(n)),
            _ => Err(bad("a positive whole number")),
        };
    }
    match kind {
        T::String | T::Memo => {
            let s = match raw {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if s.contains('\0') {
                return Err(bad("valid text (it contains a NUL character)"));
            }
            Ok(Value::String(s))
        }
        T::Integer | T::Picklist => {
            let n = match raw {
                Value::Number(n) => n.as_i64(),
                _ => text.and_then(|t| t.parse::<i64>().ok()),
            }
            .ok_or_else(|| bad(&format!("a valid {kind:?} (a whole number)")))?;
            if let Some(options) = options {
                if !options.contains(&n) {
                    let list: Vec<String> = options.iter().map(i64::to_string).collect();
                    return Err(bad(&format!("one of the options ({})", list.join(", "))));
                }
            }
            Ok(Value::from(n))
        }
        T::Decimal | T::Money => crate::domain::decimal::of_value(raw)
            .map(crate::domain::decimal::to_value)
            .ok_or_else(|| bad(&format!("a valid {kind:?} (an exact decimal number)"))),
        T::Boolean => {
            let b = match raw {
                Value::Bool(b) => Some(*b),
                Value::Number(n) => match n.as_i64() {
                    Some(0) => Some(false),
                    Some(1) => Some(true),
                    _ => None,
                },
                _ => text.and_then(parse_bool),
            }
            .ok_or_else(|| bad("a valid Boolean (true, false, 1 or 0)"))?;
            Ok(Value::Bool(b))
        }
        T::DateTime => {
            let instant = text
                .and_then(parse_instant)
                .ok_or_else(|| bad("a valid DateTime (RFC 3339, or a date YYYY-MM-DD)"))?;
            Ok(Value::String(format_instant(instant)))
        }
        T::Date => {
            let date = text
                .and_then(parse_date)
                .ok_or_else(|| bad("a valid Date (YYYY-MM-DD)"))?;
            Ok(Value::String(format_date(date)))
        }
        T::Uniqueidentifier => {
            let id = text
                .and_then(|t| uuid::Uuid::parse_str(t).ok())
                .ok_or_else(|| bad("a valid Uniqueidentifier (a UUID)"))?;
            Ok(Value::String(id.hyphenated().to_string()))
        }
        T::Lookup => {
            let id = text
                .and_then(|t| RecordId::parse(t).ok())
                .ok_or_else(|| bad("a valid Lookup (a record id)"))?;
            Ok(Value::String(id.into()))
        }
    }
}
