//! Deserializing typed values from elements.

use super::*;

#[test]
fn nested_struct_with_lists_options_and_enum() {
    let request: ConnectRequest = de(r#"<?xml version="1.0" encoding="UTF-8"?>
            <ConnectRequest>
              <OrgName>Contoso</OrgName>
              <SyncSetup>
                <Entities><Entity>account</Entity><Entity>contact</Entity></Entities>
                <Mode> Mirror </Mode>
                <IncludeDeleted>true</IncludeDeleted>
              </SyncSetup>
              <Limit> 250 </Limit>
            </ConnectRequest>"#)
    .expect("deserializes");
    assert_eq!(
        request,
        ConnectRequest {
            org_name: "Contoso".into(),
            sync_setup: SyncSetup {
                entities: vec!["account".into(), "contact".into()],
                mode: Some(SyncMode::Mirror),
                include_deleted: Some(true),
            },
            limit: Some(250),
        }
    );
}

#[test]
fn list_from_comma_text_and_absent_options() {
    let setup: SyncSetup =
        de("<SyncSetup><Entities>account, contact,, lead </Entities></SyncSetup>")
            .expect("deserializes");
    assert_eq!(setup.entities, vec!["account", "contact", "lead"]);
    assert_eq!(setup.mode, None);
    assert_eq!(setup.include_deleted, None);

    let empty: SyncSetup = de("<SyncSetup><Entities/></SyncSetup>").expect("deserializes");
    assert!(empty.entities.is_empty());
}

#[test]
fn an_empty_element_is_an_absent_option() {
    let setup: SyncSetup =
        de("<SyncSetup><Entities/><Mode/><IncludeDeleted>  </IncludeDeleted></SyncSetup>")
            .expect("deserializes");
    assert_eq!((setup.mode, setup.include_deleted), (None, None));
    // Text, or an attribute, is a value.
    assert!(de::<SyncSetup>("<SyncSetup><Entities/><Mode>Sideways</Mode></SyncSetup>").is_err());
}

#[test]
fn bool_forms_and_nil() {
    for (text, expected) in [
        ("true", true),
        ("1", true),
        (" false ", false),
        ("0", false),
    ] {
        let xml =
            format!("<SyncSetup><Entities/><IncludeDeleted>{text}</IncludeDeleted></SyncSetup>");
        let setup: SyncSetup = de(&xml).expect("deserializes");
        assert_eq!(setup.include_deleted, Some(expected));
    }
    let setup: SyncSetup = de(r#"<SyncSetup xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Entities/><IncludeDeleted xsi:nil="true"/><Mode nil="true"/></SyncSetup>"#)
            .expect("deserializes");
    assert_eq!(setup.include_deleted, None);
    assert_eq!(setup.mode, None);
    let error =
        de::<SyncSetup>("<SyncSetup><Entities/><IncludeDeleted>yes</IncludeDeleted></SyncSetup>")
            .expect_err("yes is not a boolean");
    assert_eq!(error.path, "SyncSetup.IncludeDeleted");
}

#[test]
fn unknown_enum_variant_is_reported() {
    let error = de::<SyncSetup>("<SyncSetup><Entities/><Mode>Sideways</Mode></SyncSetup>")
        .expect_err("unknown variant");
    assert!(error.message.contains("Sideways"), "{}", error.message);
    assert_eq!(error.path, "SyncSetup.Mode");
}

#[test]
fn enum_with_data_from_single_child() {
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(
        rename_all = "PascalCase",
        rename_all_fields = "PascalCase",
        deny_unknown_fields
    )]
    enum Target {
        All,
        Entity(String),
        Range { from: u32, to: u32 },
    }
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Job {
        targets: Vec<Target>,
    }
    let job: Job = de("<Job><Targets><Target>All</Target><Target><Entity>account</Entity></Target>\
                           <Target><Range><From>1</From><To>9</To></Range></Target></Targets></Job>")
        .expect("deserializes");
    assert_eq!(
        job.targets,
        vec![
            Target::All,
            Target::Entity("account".into()),
            Target::Range { from: 1, to: 9 }
        ]
    );
}

#[test]
fn value_field_holds_map_of_strings() {
    let operation: Operation = de("<Operation><Op>Upsert</Op><Entity>account</Entity>\
             <Attributes><name>Contoso</name><revenue>12.5</revenue><empty/></Attributes></Operation>")
        .expect("deserializes");
    assert_eq!(
        operation.attributes,
        Some(json!({"name": "Contoso", "revenue": "12.5", "empty": ""}))
    );
    let keys: Vec<&String> = operation
        .attributes
        .as_ref()
        .and_then(|v| v.as_object())
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["name", "revenue", "empty"]);
}

#[test]
fn value_any_groups_repeated_children_and_nil() {
    let value: serde_json::Value = from_element(&doc(
        r#"<Root><A>1</A><B><C>x</C></B><A>2</A><N nil="true"/></Root>"#,
    ))
    .expect("deserializes");
    assert_eq!(value, json!({"A": ["1", "2"], "B": {"C": "x"}, "N": null}));
}

#[test]
fn value_any_reads_attributes_of_an_element_with_children() {
    let value: serde_json::Value = from_element(&doc(
        r#"<MatchOn><Entity name="account"><Attribute>email</Attribute></Entity></MatchOn>"#,
    ))
    .expect("deserializes");
    assert_eq!(
        value,
        json!({"Entity": {"Attribute": "email", "name": "account"}})
    );
}

#[test]
fn hashmap_of_numbers() {
    let counts: HashMap<String, u64> =
        de("<Counts><account>12</account><contact> 7 </contact></Counts>").expect("deserializes");
    assert_eq!(counts.len(), 2);
    assert_eq!(counts["account"], 12);
    assert_eq!(counts["contact"], 7);
}

#[test]
fn generic_map_includes_attributes() {
    let link: HashMap<String, String> =
        de(r#"<Link Rel="self" Href="/orgs?a=1&amp;b=2"/>"#).expect("deserializes");
    assert_eq!(link["Rel"], "self");
    assert_eq!(link["Href"], "/orgs?a=1&b=2");
}

#[test]
fn struct_fields_may_come_from_attributes() {
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Link {
        rel: String,
        href: String,
    }
    let link: Link = de(
            r#"<Link xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x" Rel="self"><Href>/a</Href></Link>"#,
        )
        .expect("deserializes");
    assert_eq!(link.rel, "self");
    assert_eq!(link.href, "/a");
}

#[test]
fn vec_of_structs() {
    let batch: Batch = de("<Batch><Operations>\
               <Operation><Op>Upsert</Op><Entity>account</Entity><Attributes><name>A</name></Attributes></Operation>\
               <Operation><Op>Delete</Op><Entity>contact</Entity></Operation>\
             </Operations></Batch>")
        .expect("deserializes");
    assert_eq!(batch.operations.len(), 2);
    assert_eq!(batch.operations[0].op, "Upsert");
    assert_eq!(batch.operations[0].attributes, Some(json!({"name": "A"})));
    assert_eq!(batch.operations[1].op, "Delete");
    assert_eq!(batch.operations[1].attributes, None);
}

#[test]
fn error_path_points_into_lists() {
    let error = de::<Batch>(
        "<Batch><Operations>\
               <Operation><Op>Upsert</Op><Entity>account</Entity></Operation>\
               <Operation><Op>Delete</Op></Operation>\
             </Operations></Batch>",
    )
    .expect_err("second operation lacks Entity");
    assert_eq!(error.path, "Batch.Operations[1]");
    assert!(
        error.message.contains("missing field `Entity`"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("Batch.Operations[1]"),
        "{}",
        error.message
    );

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Ids {
        ids: Vec<u32>,
    }
    let ids: Ids = de("<X><Ids>1, 2</Ids></X>").expect("deserializes");
    assert_eq!(ids.ids, [1, 2]);
    let error = de::<Ids>("<X><Ids>1, 2, x</Ids></X>").expect_err("x is not a number");
    assert_eq!(error.path, "X.Ids[2]");
}

#[test]
fn unknown_field_is_named() {
    let error = de::<SyncSetup>("<SyncSetup><Entities/><Colour>red</Colour></SyncSetup>")
        .expect_err("unknown field");
    assert!(error.message.contains("Colour"), "{}", error.message);
    assert!(error.message.contains("unknown field"), "{}", error.message);
}

#[test]
fn type_error_names_the_field() {
    let error = de::<ConnectRequest>(
            "<ConnectRequest><OrgName>x</OrgName><SyncSetup><Entities/></SyncSetup><Limit>abc</Limit></ConnectRequest>",
        )
        .expect_err("abc is not a u32");
    assert_eq!(error.path, "ConnectRequest.Limit");
    assert!(error.message.contains("Limit"), "{}", error.message);
    assert!(error.message.contains("u32"), "{}", error.message);
    assert_eq!(error.to_string(), error.message);
}

#[test]
fn missing_field_and_shape_errors() {
    let error = de::<ConnectRequest>("<ConnectRequest><OrgName>x</OrgName></ConnectRequest>")
        .expect_err("SyncSetup missing");
    assert!(
        error.message.contains("missing field `SyncSetup`"),
        "{}",
        error.message
    );
    assert_eq!(error.path, "ConnectRequest");

    let error = de::<ConnectRequest>(
            "<ConnectRequest><OrgName><B/></OrgName><SyncSetup><Entities/></SyncSetup></ConnectRequest>",
        )
        .expect_err("child elements where text is expected");
    assert!(
        error
            .message
            .contains("expected text, found child elements"),
        "{}",
        error.message
    );
    assert_eq!(error.path, "ConnectRequest.OrgName");

    let error = de::<ConnectRequest>(
        "<ConnectRequest><OrgName>x</OrgName><SyncSetup>text</SyncSetup></ConnectRequest>",
    )
    .expect_err("text where a struct is expected");
    assert_eq!(error.path, "ConnectRequest.SyncSetup");

    let error = de::<ConnectRequest>(
            "<ConnectRequest><OrgName>x</OrgName><OrgName>y</OrgName><SyncSetup><Entities/></SyncSetup></ConnectRequest>",
        )
        .expect_err("repeated element");
    assert!(
        error
            .message
            .contains("element OrgName appears more than once"),
        "{}",
        error.message
    );
}

#[test]
fn strings_are_not_trimmed_but_scalars_are() {
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct S {
        name: String,
        count: i64,
        ratio: f64,
        letter: char,
        unit: (),
        raw: serde_bytes_like::Bytes,
    }
    mod serde_bytes_like {
        #[derive(Debug)]
        pub struct Bytes(pub Vec<u8>);
        impl<'de> serde::Deserialize<'de> for Bytes {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                        Ok(Bytes(v.to_vec()))
                    }
                }
                d.deserialize_bytes(V)
            }
        }
    }
    let s: S = de(
        "<S><Name> padded </Name><Count> -5 </Count><Ratio>2.5e1</Ratio>\
                       <Letter> z </Letter><Unit>anything</Unit><Raw>ab</Raw></S>",
    )
    .expect("deserializes");
    assert_eq!(s.name, " padded ");
    assert_eq!(s.count, -5);
    assert!((s.ratio - 25.0).abs() < f64::EPSILON);
    assert_eq!(s.letter, 'z');
    assert_eq!(s.unit, ());
    assert_eq!(s.raw.0, b"ab");
}

#[test]
fn newtype_tuple_and_flatten() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct OrgId(u64);
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct T {
        id: OrgId,
        pair: (String, u8),
        #[serde(flatten)]
        rest: HashMap<String, serde_json::Value>,
    }
    let t: T =
        de("<T><Id>42</Id><Pair><A>x</A><B>3</B></Pair><Extra>e</Extra><More><X>1</X></More></T>")
            .expect("deserializes");
    assert_eq!(t.id, OrgId(42));
    assert_eq!(t.pair, ("x".to_owned(), 3));
    assert_eq!(t.rest["Extra"], json!("e"));
    assert_eq!(t.rest["More"], json!({"X": "1"}));
}

#[test]
fn untagged_enum_through_any() {
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(untagged, rename_all_fields = "PascalCase")]
    enum Filter {
        Simple(String),
        Complex { field: String, value: String },
    }
    #[derive(Debug, Deserialize)]
    struct F {
        #[serde(rename = "Filters")]
        filters: Vec<Filter>,
    }
    let f: F = de("<F><Filters><Filter>name eq 'x'</Filter>\
                       <Filter><Field>name</Field><Value>x</Value></Filter></Filters></F>")
    .expect("deserializes");
    assert_eq!(f.filters[0], Filter::Simple("name eq 'x'".into()));
    assert_eq!(
        f.filters[1],
        Filter::Complex {
            field: "name".into(),
            value: "x".into()
        }
    );
}
