//! The JSON form: parsing, and its structural errors.

use super::*;

#[test]
fn json_form_parses_equal_to_xml_form() {
    let from_xml = SyncFilters::parse_xml(EXAMPLE_XML).unwrap();
    let json = json!({"account": {"Type": "and",
        "Conditions": [
            {"Attribute": "statecode", "Operator": "eq", "Value": "0"},
            {"Attribute": "industrycode", "Operator": "in", "Values": ["1", "7"]}],
        "Filters": [{"Type": "or", "Conditions": [
            {"Attribute": "name", "Operator": "like", "Value": "Contoso%"},
            {"Attribute": "modifiedon", "Operator": "last-x-days", "Value": "30"}]}]}});
    assert_eq!(SyncFilters::from_json(&json).unwrap(), from_xml);
    // With typed JSON values the validated forms are equal.
    let typed = json!({"account": {
        "Conditions": [
            {"Attribute": "statecode", "Operator": "eq", "Value": 0},
            {"Attribute": "industrycode", "Operator": "in", "Values": [1, 7]}],
        "Filters": [{"Type": "or", "Conditions": [
            {"Attribute": "name", "Operator": "like", "Value": "Contoso%"},
            {"Attribute": "modifiedon", "Operator": "last-x-days", "Value": 30}]}]}});
    assert_eq!(from_json(typed).unwrap(), validate(from_xml).unwrap());
}

#[test]
fn json_structure_errors() {
    let e = json_error(json!({"account": {"Type": "and", "Condition": []}}));
    assert_error(
        &e,
        Some("account"),
        None,
        None,
        &["unknown key 'Condition'"],
    );
    let e = json_error(json!({"account": {"Conditions": [
        {"Attribute": "name", "Operator": "eq", "Value": "x", "Negate": true}]}}));
    assert_error(
        &e,
        Some("account"),
        Some("name"),
        Some("eq"),
        &["unknown key 'Negate'"],
    );
    let e = json_error(json!({"account": {"Filters": [{"type": "or"}]}}));
    assert_error(&e, Some("account"), None, None, &["unknown key 'type'"]);
    let e = json_error(json!({"account": {"Conditions": [
        {"Attribute": "name", "Operator": "in", "Value": "x", "Values": ["y"]}]}}));
    assert_error(
        &e,
        Some("account"),
        Some("name"),
        Some("in"),
        &["both Value and Values"],
    );
    let e = json_error(json!({"account": {"Conditions": [cond("name", "eq", json!(["x"]))]}}));
    assert_error(&e, Some("account"), Some("name"), Some("eq"), &["Values"]);
    let e = json_error(json!({"account": {"Conditions": [conds("name", "eq", json!(["x"]))]}}));
    assert_error(
        &e,
        Some("account"),
        Some("name"),
        Some("eq"),
        &["single Value"],
    );
    let e =
        json_error(json!({"account": {"Conditions": [conds("name", "in", json!([{"x": 1}]))]}}));
    assert_error(
        &e,
        Some("account"),
        Some("name"),
        Some("in"),
        &["number, a string or a boolean"],
    );
    let e = json_error(json!({"account": {"Type": "xor"}}));
    assert_error(&e, Some("account"), None, None, &["'xor'"]);
    let e = json_error(json!({"account": {"Conditions": {}}}));
    assert_error(&e, Some("account"), None, None, &["array"]);
    let e = json_error(json!({"account": {"Conditions": [{"Operator": "eq"}]}}));
    assert_error(&e, Some("account"), None, None, &["Attribute"]);
    let e = json_error(json!({"account": []}));
    assert_error(&e, Some("account"), None, None, &["JSON object"]);
    let e = json_error(json!(["account"]));
    assert_error(&e, None, None, None, &["JSON object"]);
    // null members count as absent.
    let ok = from_json(json!({"account": {"Type": null, "Conditions": [
        {"Attribute": "name", "Operator": "null", "Value": null}], "Filters": null}}));
    assert!(ok.is_ok());
}
