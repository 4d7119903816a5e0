//! Evaluation: missing values, case, nesting, relative dates, system attributes.

use super::*;

#[test]
fn no_value_is_false_except_null() {
    let missing = json!(null);
    for condition in [
        cond("name", "eq", json!("x")),
        cond("name", "ne", json!("x")),
        conds("name", "not-in", json!(["x"])),
        cond("name", "not-like", json!("x%")),
        conds("count", "not-between", json!([1, 2])),
        cond("due", "older-x-days", json!(1)),
        json!({"Attribute": "name", "Operator": "not-null"}),
    ] {
        assert!(!eval(condition.clone(), missing.clone()), "{condition}");
    }
    assert!(eval(
        json!({"Attribute": "name", "Operator": "null"}),
        missing
    ));
    // An absent key is the same as null.
    let filters = from_json(json!({"thing": {"Conditions": [
        {"Attribute": "count", "Operator": "null"},
        {"Attribute": "createdon", "Operator": "null"}
    ]}}))
    .unwrap();
    assert!(filters.matches("thing", &Map::new(), now()));
    // A value not of the attribute's type is a value, but matches nothing else.
    assert!(eval(
        json!({"Attribute": "count", "Operator": "not-null"}),
        json!("many")
    ));
    assert!(!eval(
        json!({"Attribute": "count", "Operator": "null"}),
        json!("many")
    ));
    assert!(!eval(cond("count", "ne", json!(1)), json!("many")));
}

#[test]
fn strings_compare_case_insensitively() {
    assert!(eval(cond("name", "eq", json!("ÉCOLE")), json!("école")));
    assert!(eval(
        cond("notes", "like", json!("%STRASSE")),
        json!("Hauptstrasse")
    ));
    assert!(eval(
        conds("name", "in", json!(["ALPHA", "Beta"])),
        json!("beta")
    ));
    assert!(!eval(
        conds("name", "not-in", json!(["ALPHA"])),
        json!("alpha")
    ));
    assert!(eval(cond("name", "gt", json!("APPLE")), json!("banana")));
    assert!(eval(cond("name", "ge", json!("apple")), json!("APPLE")));
    // The filter keeps the value as given; only the comparison ignores case.
    let filters =
        from_json(json!({"thing": {"Conditions": [cond("name", "eq", json!("MiXeD"))]}})).unwrap();
    assert_eq!(
        filters.filter_for("thing").unwrap().conditions[0].values,
        vec![json!("MiXeD")]
    );
}

#[test]
fn nested_and_or() {
    let filters = from_json(json!({"thing": {
        "Type": "or",
        "Conditions": [cond("name", "eq", json!("vip"))],
        "Filters": [{"Type": "and",
                     "Conditions": [cond("count", "gt", json!(10))],
                     "Filters": [{"Type": "or", "Conditions": [
                         cond("active", "eq", json!(true)),
                         cond("price", "ge", json!(100))]}]}]
    }}))
    .unwrap();
    let m = |r: Value| filters.matches("thing", &record(r), now());
    assert!(m(json!({"name": "VIP"})));
    assert!(m(json!({"count": 11, "active": true})));
    assert!(m(json!({"count": 11, "active": false, "price": 100})));
    assert!(!m(json!({"count": 11, "active": false, "price": 99.5})));
    assert!(!m(json!({"count": 10, "active": true})));
    assert!(!m(json!({})));
    // Empty filters match everything, and an entity without a filter too.
    let empty = from_json(json!({"thing": {}, "account": {"Type": "or"}})).unwrap();
    assert!(empty.matches("thing", &Map::new(), now()));
    assert!(empty.matches("account", &Map::new(), now()));
    assert!(filters.matches("account", &Map::new(), now()));
    assert!(!empty.is_empty());
    assert!(ValidFilters::default().is_empty());
}

#[test]
fn huge_relative_values_do_not_overflow() {
    assert!(eval(
        cond("due", "last-x-days", json!(i64::MAX)),
        json!("1970-01-01T00:00:00Z")
    ));
    assert!(eval(
        cond("due", "last-x-hours", json!(i64::MAX)),
        json!("1970-01-01T00:00:00Z")
    ));
    assert!(eval(
        cond("due", "next-x-days", json!(i64::MAX)),
        json!("2999-01-01T00:00:00Z")
    ));
    assert!(!eval(
        cond("due", "older-x-days", json!(i64::MAX)),
        json!("1970-01-01T00:00:00Z")
    ));
}

#[test]
fn system_attributes_are_filterable_as_datetimes() {
    let filters = from_json(json!({"account": {"Conditions": [
        cond("createdon", "on-or-after", json!("2026-01-01")),
        cond("modifiedon", "lt", json!("2026-01-31T11:00:00Z"))]}}))
    .unwrap();
    let m = |r: Value| filters.matches("account", &record(r), now());
    assert!(m(
        json!({"createdon": "2026-01-01T00:00:00Z", "modifiedon": "2026-01-31T10:59:59.999999Z"})
    ));
    assert!(!m(
        json!({"createdon": "2025-12-31T23:59:59Z", "modifiedon": "2026-01-31T10:00:00Z"})
    ));
    assert!(!m(
        json!({"createdon": "2026-01-02T00:00:00Z", "modifiedon": "2026-01-31T11:00:00Z"})
    ));
}

#[test]
fn explain_names_each_failed_condition_with_the_records_value() {
    let filters = from_json(json!({"thing": {
        "Type": "and",
        "Conditions": [cond("count", "gt", json!(10)), conds("name", "in", json!(["a", "b"]))],
        "Filters": [{"Type": "or", "Conditions": [
            cond("active", "eq", json!(true)),
            json!({"Attribute": "price", "Operator": "not-null"})]}]
    }}))
    .unwrap();
    let why = |r: Value| filters.explain("thing", &record(r), now());
    assert!(why(json!({"count": 11, "name": "A", "active": true})).is_empty());
    let failed = why(json!({"count": 3, "name": "a", "active": false}));
    let seen: Vec<(&str, &str, Value, Value)> = failed
        .iter()
        .map(|f| {
            (
                f.attribute.as_str(),
                f.operator.as_str(),
                f.value.clone(),
                f.actual.clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("count", "gt", json!(10), json!(3)),
            ("active", "eq", json!(true), json!(false)),
            ("price", "not-null", Value::Null, Value::Null),
        ],
        "the passing condition is not named; both branches of the failed or are"
    );
    assert_eq!(
        why(json!({"count": 11, "active": true}))[0].value,
        json!(["a", "b"]),
        "a list operator shows its list"
    );
}
