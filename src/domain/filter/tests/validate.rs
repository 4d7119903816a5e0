//! Validation against the metadata: the errors, and the nesting limit.

use super::*;

#[test]
fn unknown_entity() {
    let e = xml_error(&one(
        "acount",
        r#"<condition attribute="x" operator="eq" value="1"/>"#,
    ));
    assert_error(&e, Some("acount"), None, None, &["metadata"]);
    assert_eq!(
        e.message,
        "filter of entity 'acount': there is no entity 'acount' in the metadata"
    );
}

#[test]
fn unknown_attribute() {
    let e = json_error(json!({"account": {"Conditions": [cond("nmae", "eq", json!("x"))]}}));
    assert_error(
        &e,
        Some("account"),
        Some("nmae"),
        Some("eq"),
        &["not an attribute"],
    );
}

#[test]
fn operator_wrong_for_type() {
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="statecode" operator="like" value="1%"/>"#,
    ));
    assert_eq!(
        e.message,
        "filter of entity 'account': operator 'like' cannot be used on attribute 'statecode' of type Integer"
    );
    assert_error(&e, Some("account"), Some("statecode"), Some("like"), &[]);
    for (attribute, operator, value) in [
        ("color", "gt", json!(1)),
        ("active", "lt", json!(true)),
        ("ref", "ge", json!("0190f5c2-7a3b-7c1d-8e2f-123456789abc")),
        ("owner", "le", json!("x")),
        ("name", "on", json!("2026-01-01")),
        ("count", "last-x-days", json!(1)),
        ("due", "begins-with", json!("2026")),
    ] {
        let e = json_error(json!({"thing": {"Conditions": [cond(attribute, operator, value)]}}));
        assert_error(
            &e,
            Some("thing"),
            Some(attribute),
            Some(operator),
            &["cannot be used"],
        );
    }
    let e =
        json_error(json!({"thing": {"Conditions": [conds("name", "between", json!(["a", "b"]))]}}));
    assert_error(
        &e,
        Some("thing"),
        Some("name"),
        Some("between"),
        &["String"],
    );
    let e = json_error(
        json!({"thing": {"Conditions": [conds("color", "not-between", json!([1, 7]))]}}),
    );
    assert_error(
        &e,
        Some("thing"),
        Some("color"),
        Some("not-between"),
        &["Picklist"],
    );
}

#[test]
fn unknown_operator() {
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="name" operator="contains" value="x"/>"#,
    ));
    assert_error(
        &e,
        Some("account"),
        Some("name"),
        Some("contains"),
        &["unknown operator", "not-like"],
    );
    let e = json_error(json!({"account": {"Conditions": [cond("name", "EQ", json!("x"))]}}));
    assert_error(
        &e,
        Some("account"),
        Some("name"),
        Some("EQ"),
        &["unknown operator"],
    );
    assert_eq!(
        "EQ".parse::<Operator>().unwrap_err().operator.as_deref(),
        Some("EQ")
    );
    for op in Operator::ALL {
        assert_eq!(op.as_str().parse::<Operator>(), Ok(op));
        assert_eq!(op.to_string(), op.as_str());
    }
}

#[test]
fn bad_values() {
    for (attribute, operator, value, words) in [
        ("count", "eq", json!("abc"), "Integer"),
        ("count", "eq", json!(1.5), "Integer"),
        ("rate", "eq", json!("NaN"), "Decimal"),
        ("price", "gt", json!(true), "Money"),
        ("active", "eq", json!("yes"), "Boolean"),
        ("active", "eq", json!(2), "Boolean"),
        ("due", "eq", json!("31/01/2026"), "DateTime"),
        ("birthday", "eq", json!("2026-01-31T00:00:00Z"), "Date"),
        ("birthday", "eq", json!("2026-02-30"), "Date"),
        ("ref", "eq", json!("not-a-uuid"), "Uniqueidentifier"),
        ("owner", "eq", json!("has space"), "Lookup"),
        ("color", "eq", json!(3), "options (1, 7, 9)"),
        ("due", "on", json!(20260131), "date"),
        ("due", "last-x-days", json!(0), "positive"),
        ("due", "older-x-days", json!("-1"), "positive"),
        ("name", "eq", json!("nul\u{0}"), "NUL"),
    ] {
        let e = json_error(
            json!({"thing": {"Conditions": [cond(attribute, operator, value.clone())]}}),
        );
        assert_error(
            &e,
            Some("thing"),
            Some(attribute),
            Some(operator),
            &[words, "value"],
        );
    }
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="industrycode" operator="in"><value>1</value><value>x</value></condition>"#,
    ));
    assert_error(
        &e,
        Some("account"),
        Some("industrycode"),
        Some("in"),
        &["'x'", "Picklist"],
    );
}

#[test]
fn wrong_value_count() {
    for (condition, words) in [
        (cond("name", "null", json!("x")), "no value, got 1"),
        (
            json!({"Attribute": "name", "Operator": "eq"}),
            "exactly one value, got 0",
        ),
        (
            conds("count", "between", json!([1])),
            "exactly 2 values, got 1",
        ),
        (
            conds("count", "not-between", json!([1, 2, 3])),
            "exactly 2 values, got 3",
        ),
        (conds("count", "in", json!([])), "at least one value, got 0"),
    ] {
        let attribute = condition["Attribute"].as_str().unwrap().to_owned();
        let operator = condition["Operator"].as_str().unwrap().to_owned();
        let e = json_error(json!({"thing": {"Conditions": [condition]}}));
        assert_error(
            &e,
            Some("thing"),
            Some(&attribute),
            Some(&operator),
            &[words],
        );
    }
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="statecode" operator="between" value="1"/>"#,
    ));
    assert_error(
        &e,
        Some("account"),
        Some("statecode"),
        Some("between"),
        &["exactly 2 values"],
    );
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="statecode" operator="in"/>"#,
    ));
    assert_error(
        &e,
        Some("account"),
        Some("statecode"),
        Some("in"),
        &["at least one value"],
    );
    // One value in the value attribute is fine for in.
    assert!(from_xml(&one(
        "account",
        r#"<condition attribute="statecode" operator="in" value="1"/>"#
    ))
    .is_ok());
}

#[test]
fn nesting_depth_is_limited() {
    let nested = |depth: usize| {
        let mut f = json!({});
        for _ in 1..depth {
            f = json!({"Filters": [f]});
        }
        json!({"account": f})
    };
    assert!(from_json(nested(MAX_FILTER_DEPTH)).is_ok());
    let e = json_error(nested(MAX_FILTER_DEPTH + 1));
    assert_error(&e, Some("account"), None, None, &["nested more than 16"]);

    let xml = |depth: usize| {
        format!(
            r#"<SyncFilters><Entity name="account">{}{}</Entity></SyncFilters>"#,
            "<filter>".repeat(depth),
            "</filter>".repeat(depth)
        )
    };
    assert!(from_xml(&xml(MAX_FILTER_DEPTH)).is_ok());
    let e = xml_error(&xml(MAX_FILTER_DEPTH + 1));
    assert_error(&e, Some("account"), None, None, &["nested more than 16"]);

    // Validation refuses a too-deep filter built by hand as well.
    let mut filter = Filter::default();
    for _ in 0..MAX_FILTER_DEPTH {
        filter = Filter {
            filters: vec![filter],
            ..Filter::default()
        };
    }
    let mut entities = BTreeMap::new();
    entities.insert("account".to_owned(), filter);
    let e = validate(SyncFilters { entities }).unwrap_err();
    assert_error(&e, Some("account"), None, None, &["nested"]);
}
