//! The canonical JSON and XML forms: their shapes and round trips.

use super::*;

#[test]
fn canonical_forms_round_trip() {
    let filters = from_json(json!({
        "account": {"Filters": [{"Type": "or"}]},
        "thing": {"Type": "or", "Conditions": [
            cond("name", "eq", json!("quote \" apos ' amp & lt < tab\tnl\ncr\r end ")),
            cond("notes", "like", json!("  padded%  ")),
            cond("count", "ne", json!(-3)),
            cond("rate", "lt", json!("12")),
            cond("price", "ge", json!(1e20)),
            cond("active", "eq", json!(1)),
            cond("due", "gt", json!("2026-01-31T10:00:00.5+02:00")),
            cond("due", "le", json!("2026-01-31")),
            cond("birthday", "on-or-before", json!("2026-01-31T23:30:00-05:00")),
            cond("ref", "eq", json!("{0190F5C2-7A3B-7C1D-8E2F-123456789ABC}")),
            cond("owner", "eq", json!("0190F5C2-7A3B-7C1D-8E2F-123456789ABC")),
            conds("color", "not-in", json!(["9"])),
            conds("createdon", "between", json!(["2026-01-01", "2026-02-01T00:00:00Z"])),
            json!({"Attribute": "modifiedon", "Operator": "not-null"}),
            cond("modifiedon", "next-x-days", json!(3))],
         "Filters": [{"Conditions": [cond("name", "begins-with", json!("x"))],
                      "Filters": [{"Type": "or"}]}]}
    }))
    .unwrap();
    let thing = filters.filter_for("thing").unwrap();
    let values: Vec<&Value> = thing.conditions.iter().flat_map(|c| &c.values).collect();
    assert_eq!(
        values,
        vec![
            &json!("quote \" apos ' amp & lt < tab\tnl\ncr\r end "),
            &json!("  padded%  "),
            &json!(-3),
            // Decimal and Money values are exact decimals, in their shortest form.
            &json!(12),
            &serde_json::from_str::<Value>("100000000000000000000").unwrap(),
            &json!(true),
            &json!("2026-01-31T08:00:00.500Z"),
            &json!("2026-01-31T00:00:00Z"),
            &json!("2026-02-01"),
            &json!("0190f5c2-7a3b-7c1d-8e2f-123456789abc"),
            &json!("0190f5c2-7a3b-7c1d-8e2f-123456789abc"),
            &json!(9),
            &json!("2026-01-01T00:00:00Z"),
            &json!("2026-02-01T00:00:00Z"),
            &json!(3),
        ]
    );

    let json = filters.to_json();
    let reparsed = SyncFilters::from_json(&json).unwrap();
    assert_eq!(
        reparsed.entities.get("thing"),
        filters.filter_for("thing"),
        "JSON parses back without validation"
    );
    assert_eq!(validate(reparsed).unwrap(), filters);

    let xml = filters.to_xml();
    assert_eq!(from_xml(&xml).unwrap(), filters, "{xml}");
    assert_eq!(from_xml(&xml).unwrap().to_xml(), xml);
    assert_eq!(from_json(json.clone()).unwrap().to_json(), json);

    assert_eq!(ValidFilters::default().to_xml(), "<SyncFilters/>");
    assert_eq!(from_xml("<SyncFilters/>").unwrap(), ValidFilters::default());
    assert_eq!(ValidFilters::default().to_json(), json!({}));
}

#[test]
fn canonical_shapes() {
    let filters = from_xml(EXAMPLE_XML).unwrap();
    assert_eq!(
        filters.to_json(),
        json!({"account": {"Type": "and",
            "Conditions": [
                {"Attribute": "statecode", "Operator": "eq", "Value": 0},
                {"Attribute": "industrycode", "Operator": "in", "Values": [1, 7]}],
            "Filters": [{"Type": "or", "Conditions": [
                {"Attribute": "name", "Operator": "like", "Value": "Contoso%"},
                {"Attribute": "modifiedon", "Operator": "last-x-days", "Value": 30}],
                "Filters": []}]}})
    );
    let expected = r#"<SyncFilters>
  <Entity name="account">
    <filter type="and">
      <condition attribute="statecode" operator="eq" value="0"/>
      <condition attribute="industrycode" operator="in">
        <value>1</value>
        <value>7</value>
      </condition>
      <filter type="or">
        <condition attribute="name" operator="like" value="Contoso%"/>
        <condition attribute="modifiedon" operator="last-x-days" value="30"/>
      </filter>
    </filter>
  </Entity>
</SyncFilters>"#;
    assert_eq!(filters.to_xml(), expected);
}
