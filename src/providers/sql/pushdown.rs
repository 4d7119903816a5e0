//! The part of a sync filter the database can decide itself, as a SQL condition on a full
//! read's page, so rows the filter drops are not read at all. It only ever narrows to a
//! superset of what the filter keeps: every row read is still evaluated by the filter, and a
//! condition whose SQL meaning could differ from the filter's (text, which the filter compares
//! case-insensitively; instants; SQLite's decimals, kept as binary floats) is left to that
//! evaluation.

use serde_json::Value;

use super::capture::quote;
use crate::domain::filter::{Condition, Filter, FilterType, Operator};
use crate::domain::metadata::{AttributeType, EntityDef};

/// Which database the condition is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// The SQL condition (on the table aliased `t`) that keeps at least every row `filter` keeps,
/// or `None` when no part of it can be decided by the database.
pub fn condition(filter: &Filter, def: &EntityDef, dialect: Dialect) -> Option<String> {
    let mut parts: Vec<Option<String>> = filter
        .conditions
        .iter()
        .map(|c| one(c, def, dialect))
        .collect();
    parts.extend(filter.filters.iter().map(|f| condition(f, def, dialect)));
    match filter.kind {
        // What cannot be decided is left out: the rest still holds for every kept row.
        FilterType::And => {
            let known: Vec<String> = parts.into_iter().flatten().collect();
            (!known.is_empty()).then(|| format!("({})", known.join(" AND ")))
        }
        // One undecidable branch could keep any row.
        FilterType::Or => {
            let known: Option<Vec<String>> = parts.into_iter().collect();
            known
                .filter(|k| !k.is_empty())
                .map(|k| format!("({})", k.join(" OR ")))
        }
    }
}

/// A value as a SQL literal, for the types whose literal means the same as the filter's value.
fn literal(value: &Value, kind: AttributeType, dialect: Dialect) -> Option<String> {
    match (value, kind, dialect) {
        (Value::Number(n), AttributeType::Integer | AttributeType::Picklist, _) => {
            n.as_i64().map(|i| i.to_string())
        }
        (Value::Number(n), AttributeType::Decimal | AttributeType::Money, Dialect::Postgres) => {
            let text = n.to_string();
            let plain = !text.is_empty()
                && text
                    .trim_start_matches('-')
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.');
            plain.then(|| format!("{text}::numeric"))
        }
        (Value::Bool(b), AttributeType::Boolean, Dialect::Postgres) => {
            Some(if *b { "TRUE" } else { "FALSE" }.to_owned())
        }
        _ => None,
    }
}

fn one(c: &Condition, def: &EntityDef, dialect: Dialect) -> Option<String> {
    let attribute = def.attribute(&c.attribute)?;
    let column = format!("t.{}", quote(&c.attribute));
    let values: Option<Vec<String>> = c
        .values
        .iter()
        .map(|v| literal(v, attribute.kind, dialect))
        .collect();
    let values = values?;
    let sql = match (c.operator, values.as_slice()) {
        (Operator::Null, _) => format!("{column} IS NULL"),
        (Operator::NotNull, _) => format!("{column} IS NOT NULL"),
        (Operator::Eq, [v]) => format!("{column} = {v}"),
        (Operator::Ne, [v]) => format!("{column} <> {v}"),
        (Operator::Gt, [v]) => format!("{column} > {v}"),
        (Operator::Ge, [v]) => format!("{column} >= {v}"),
        (Operator::Lt, [v]) => format!("{column} < {v}"),
        (Operator::Le, [v]) => format!("{column} <= {v}"),
        (Operator::In, list) if !list.is_empty() => format!("{column} IN ({})", list.join(", ")),
        (Operator::NotIn, list) if !list.is_empty() => {
            format!("{column} NOT IN ({})", list.join(", "))
        }
        (Operator::Between, [a, b]) => format!("{column} BETWEEN {a} AND {b}"),
        (Operator::NotBetween, [a, b]) => {
            format!("({column} < {a} OR {column} > {b})")
        }
        _ => return None,
    };
    Some(sql)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::domain::filter::SyncFilters;
    use crate::domain::metadata::EntityDefinitionInput;
    use crate::domain::names::LogicalName;

    fn account() -> EntityDef {
        let input: EntityDefinitionInput = serde_json::from_value(json!({
            "PrimaryName": "name",
            "Attributes": [
                {"Name": "name", "Type": "String"},
                {"Name": "statecode", "Type": "Integer"},
                {"Name": "revenue", "Type": "Decimal"},
                {"Name": "active", "Type": "Boolean"},
                {"Name": "updated", "Type": "DateTime"}]
        }))
        .unwrap();
        input
            .into_entity(LogicalName::parse("account").unwrap())
            .unwrap()
    }

    fn pushed(filter: serde_json::Value, dialect: Dialect) -> Option<String> {
        let def = account();
        let valid = SyncFilters::from_json(&json!({ "account": filter }))
            .unwrap()
            .validate(&|n| (n == "account").then_some(&def))
            .unwrap();
        condition(valid.filter_for("account").unwrap(), &def, dialect)
    }

    #[test]
    fn numbers_and_nulls_go_to_the_database_text_stays_with_the_filter() {
        let filter = json!({"Type": "and", "Conditions": [
            {"Attribute": "statecode", "Operator": "in", "Values": [0, 1]},
            {"Attribute": "name", "Operator": "like", "Value": "Contoso%"},
            {"Attribute": "revenue", "Operator": "ge", "Value": "1000.50"},
            {"Attribute": "updated", "Operator": "not-null"}]});
        assert_eq!(
            pushed(filter.clone(), Dialect::Postgres).unwrap(),
            "(t.\"statecode\" IN (0, 1) AND t.\"revenue\" >= 1000.5::numeric AND t.\"updated\" IS NOT NULL)"
        );
        // SQLite keeps decimals as binary floats: that comparison is the filter's alone.
        assert_eq!(
            pushed(filter, Dialect::Sqlite).unwrap(),
            "(t.\"statecode\" IN (0, 1) AND t.\"updated\" IS NOT NULL)"
        );
    }

    #[test]
    fn an_or_with_a_branch_the_database_cannot_decide_is_not_pushed() {
        let mixed = json!({"Type": "or", "Conditions": [
            {"Attribute": "statecode", "Operator": "eq", "Value": 0},
            {"Attribute": "name", "Operator": "eq", "Value": "Contoso"}]});
        assert_eq!(pushed(mixed, Dialect::Postgres), None);
        let numbers = json!({"Type": "or", "Conditions": [
            {"Attribute": "statecode", "Operator": "eq", "Value": 0},
            {"Attribute": "active", "Operator": "eq", "Value": true}]});
        assert_eq!(
            pushed(numbers, Dialect::Postgres).unwrap(),
            "(t.\"statecode\" = 0 OR t.\"active\" = TRUE)"
        );
    }
}
