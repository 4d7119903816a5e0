//! The XML form: parsing, and its structural errors.

use super::*;

#[test]
fn the_brief_example_parses_validates_and_evaluates() {
    let filters = from_xml(EXAMPLE_XML).unwrap();
    let f = filters.filter_for("account").unwrap();
    assert_eq!(f.kind, FilterType::And);
    assert_eq!(f.conditions.len(), 2);
    assert_eq!(f.conditions[0].values, vec![json!(0)]);
    assert_eq!(f.conditions[1].operator, Operator::In);
    assert_eq!(f.conditions[1].values, vec![json!(1), json!(7)]);
    assert_eq!(f.filters[0].kind, FilterType::Or);
    assert_eq!(f.filters[0].conditions[1].values, vec![json!(30)]);
    assert!(filters.filter_for("contact").is_none());

    let m = |r: Value| filters.matches("account", &record(r), now());
    assert!(m(
        json!({"statecode": 0, "industrycode": 7, "name": "contoso ltd",
                     "modifiedon": "2020-01-01T00:00:00Z"})
    ));
    assert!(m(
        json!({"statecode": 0, "industrycode": 1, "name": "Fabrikam",
                     "modifiedon": "2026-01-10T08:00:00.123Z"})
    ));
    assert!(!m(
        json!({"statecode": 0, "industrycode": 1, "name": "Fabrikam",
                      "modifiedon": "2025-12-31T23:59:59Z"})
    ));
    assert!(!m(
        json!({"statecode": 1, "industrycode": 7, "name": "Contoso"})
    ));
    assert!(!m(
        json!({"statecode": 0, "industrycode": 9, "name": "Contoso"})
    ));
    assert!(!m(json!({"statecode": 0, "name": "Contoso"})));
    assert!(filters.matches("contact", &Map::new(), now()));
}

#[test]
fn xml_values_as_children_and_escapes() {
    let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<!-- a comment -->
<SyncFilters>
  <Entity name="thing">
    <filter>
      <condition attribute="count" operator="between">
        <value> 1 </value>
        <!-- inclusive -->
        <value>10</value>
      </condition>
      <condition attribute="name" operator="not-in"><value>A &amp; B</value><value>&lt;x&gt; &#233;</value><value/></condition>
      <condition attribute="notes" operator="eq" value="say &quot;hi&quot;"/>
      <condition attribute="notes" operator="not-in"><value><![CDATA[a<b>]]></value><value>x</value></condition>
    </filter>
  </Entity>
</SyncFilters>
"#;
    let filters = from_xml(xml).unwrap();
    let f = filters.filter_for("thing").unwrap();
    assert_eq!(f.kind, FilterType::And);
    assert_eq!(f.conditions[0].values, vec![json!(1), json!(10)]);
    assert_eq!(
        f.conditions[1].values,
        vec![json!("A & B"), json!("<x> é"), json!("")]
    );
    assert_eq!(f.conditions[2].values, vec![json!("say \"hi\"")]);
    assert_eq!(f.conditions[3].values, vec![json!("a<b>"), json!("x")]);
    let m = |r: Value| filters.matches("thing", &record(r), now());
    assert!(m(json!({"count": 5, "name": "C", "notes": "SAY \"HI\""})));
    assert!(!m(
        json!({"count": 5, "name": "a & b", "notes": "say \"hi\""})
    ));
}

#[test]
fn xml_structure_errors() {
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="name" operator="eq" value="x"><foo/></condition>"#,
    ));
    assert_error(
        &e,
        Some("account"),
        Some("name"),
        Some("eq"),
        &["unknown element <foo>"],
    );
    let e = xml_error(&one("account", r#"<conditions attribute="name"/>"#));
    assert_error(
        &e,
        Some("account"),
        None,
        None,
        &["unknown element <conditions> in <filter>"],
    );
    let e = xml_error("<SyncFilters><entity name=\"account\"/></SyncFilters>");
    assert_error(&e, None, None, None, &["unknown element <entity>"]);
    let e = xml_error("<Filters/>");
    assert_error(&e, None, None, None, &["<Filters>"]);

    let e = xml_error(&one(
        "account",
        r#"<condition attribute="name" operator="eq" value="x" negate="true"/>"#,
    ));
    assert_error(
        &e,
        Some("account"),
        None,
        None,
        &["unknown attribute 'negate' on <condition>"],
    );
    let e =
        xml_error(r#"<SyncFilters><Entity name="account" id="1"><filter/></Entity></SyncFilters>"#);
    assert_error(
        &e,
        None,
        None,
        None,
        &["unknown attribute 'id' on <Entity>"],
    );
    let e = xml_error(r#"<SyncFilters xmlns="urn:x"/>"#);
    assert_error(&e, None, None, None, &["unknown attribute 'xmlns'"]);
    let e = xml_error(
        r#"<SyncFilters><Entity name="account"><filter type="and" mode="x"/></Entity></SyncFilters>"#,
    );
    assert_error(&e, Some("account"), None, None, &["'mode'"]);
    let e = xml_error(
        r#"<SyncFilters><Entity name="account"><filter type="AND"/></Entity></SyncFilters>"#,
    );
    assert_error(&e, Some("account"), None, None, &["'AND'"]);
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="industrycode" operator="in"><value x="1">1</value></condition>"#,
    ));
    assert_error(
        &e,
        Some("account"),
        Some("industrycode"),
        Some("in"),
        &["'x' on <value>"],
    );

    let e = xml_error(&one(
        "account",
        r#"<condition attribute="statecode" operator="in" value="1"><value>2</value></condition>"#,
    ));
    assert_error(
        &e,
        Some("account"),
        Some("statecode"),
        Some("in"),
        &["both"],
    );
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="statecode" operator="eq"><value>2</value></condition>"#,
    ));
    assert_error(
        &e,
        Some("account"),
        Some("statecode"),
        Some("eq"),
        &["'value' attribute"],
    );
    let e = xml_error(&one("account", r#"<condition operator="eq" value="1"/>"#));
    assert_error(&e, Some("account"), None, None, &["'attribute'"]);
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="name" value="1"/>"#,
    ));
    assert_error(&e, Some("account"), Some("name"), None, &["'operator'"]);
    let e = xml_error(&one("account", "stray text"));
    assert_error(
        &e,
        Some("account"),
        None,
        None,
        &["unexpected text 'stray text'"],
    );

    let e = xml_error(r#"<SyncFilters><Entity name="account"/></SyncFilters>"#);
    assert_error(&e, Some("account"), None, None, &["exactly one <filter>"]);
    let e = xml_error(
        r#"<SyncFilters><Entity name="account"><filter/><filter/></Entity></SyncFilters>"#,
    );
    assert_error(&e, Some("account"), None, None, &["exactly one <filter>"]);
    let e = xml_error(r#"<SyncFilters><Entity><filter/></Entity></SyncFilters>"#);
    assert_error(&e, None, None, None, &["'name'"]);
}

#[test]
fn duplicate_entity() {
    let e = xml_error(
        r#"<SyncFilters><Entity name="account"><filter/></Entity><Entity name="account"><filter type="or"/></Entity></SyncFilters>"#,
    );
    assert_error(&e, Some("account"), None, None, &["more than one <Entity>"]);
}

#[test]
fn malformed_xml() {
    for xml in [
        "",
        "   ",
        "<SyncFilters>",
        "<SyncFilters><Entity name=\"account\"><filter></Entity></SyncFilters>",
        "<SyncFilters></syncfilters>",
        "<SyncFilters/><SyncFilters/>",
        "<SyncFilters/>trailing",
        "<SyncFilters><Entity name=account><filter/></Entity></SyncFilters>",
        "<SyncFilters><Entity name=\"a\" name=\"b\"><filter/></Entity></SyncFilters>",
        "<SyncFilters><Entity name=\"account\"><filter><condition attribute=\"name\" operator=\"eq\" value=\"a & b\"/></filter></Entity></SyncFilters>",
        "<SyncFilters><!-- bad -- comment --></SyncFilters>",
        "<SyncFilters><?pi x?></SyncFilters>",
        "<SyncFilters><![CDATA[x]]></SyncFilters>",
        "{\"account\": {}}",
    ] {
        let e = SyncFilters::parse_xml(xml).unwrap_err();
        assert_eq!(e.code, "invalid_filter");
        assert!(!e.message.is_empty(), "{xml}");
    }
    let e = SyncFilters::parse_xml("<SyncFilters><Entity name=\"account\">").unwrap_err();
    assert_error(&e, Some("account"), None, None, &["ends inside <Entity>"]);
    let e = SyncFilters::parse_xml(
        "<SyncFilters><Entity name=\"a\" name=\"b\"><filter/></Entity></SyncFilters>",
    )
    .unwrap_err();
    assert!(e.message.contains("malformed XML"), "{}", e.message);
}

#[test]
fn doctype_and_entities_are_refused() {
    let xml = r#"<?xml version="1.0"?>
<!DOCTYPE SyncFilters [<!ENTITY big "lots">]>
<SyncFilters><Entity name="account"><filter><condition attribute="name" operator="eq" value="&big;"/></filter></Entity></SyncFilters>"#;
    let e = xml_error(xml);
    assert_error(&e, None, None, None, &["DOCTYPE"]);
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="name" operator="eq" value="&big;"/>"#,
    ));
    assert_error(&e, Some("account"), None, None, &["'&big;'"]);
    let e = xml_error(&one(
        "account",
        r#"<condition attribute="name" operator="in"><value>&big;</value></condition>"#,
    ));
    assert_error(&e, Some("account"), Some("name"), Some("in"), &["'&big;'"]);
    // The predefined entities and character references are fine.
    assert!(from_xml(&one("account", r#"<condition attribute="name" operator="eq" value="&lt;&gt;&amp;&quot;&apos;&#65;&#x42;"/>"#)).is_ok());
}
