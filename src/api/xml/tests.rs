#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

fn doc(xml: &str) -> Element {
    parse(xml.as_bytes(), DEFAULT_MAX_DEPTH).expect("document should parse")
}

fn de<T: serde::de::DeserializeOwned>(xml: &str) -> Result<T, DeError> {
    from_element(&doc(xml))
}

fn code_of(xml: &[u8]) -> &'static str {
    parse(xml, DEFAULT_MAX_DEPTH)
        .expect_err("document should be refused")
        .code()
        .as_str()
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
enum SyncMode {
    Mirror,
    OneWay,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct SyncSetup {
    entities: Vec<String>,
    #[serde(default)]
    mode: Option<SyncMode>,
    #[serde(default)]
    include_deleted: Option<bool>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct ConnectRequest {
    org_name: String,
    sync_setup: SyncSetup,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Operation {
    op: String,
    entity: String,
    #[serde(default)]
    attributes: Option<serde_json::Value>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct Batch {
    operations: Vec<Operation>,
}

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
fn cdata_and_escaped_text() {
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "PascalCase", deny_unknown_fields)]
    struct Setup {
        sync_filters_xml: String,
        #[serde(default)]
        note: Option<String>,
    }
    let escaped: Setup = de(
            "<Setup><SyncFiltersXml>&lt;SyncFilters&gt;&lt;Filter Entity=&quot;account&quot;/&gt;&lt;/SyncFilters&gt;</SyncFiltersXml></Setup>",
        )
        .expect("deserializes");
    assert_eq!(
        escaped.sync_filters_xml,
        r#"<SyncFilters><Filter Entity="account"/></SyncFilters>"#
    );
    let cdata: Setup = de(
        "<Setup><SyncFiltersXml><![CDATA[<SyncFilters>&amp;</SyncFilters>]]></SyncFiltersXml>\
             <Note>  a &#x41;&#66; <![CDATA[c]]>  </Note></Setup>",
    )
    .expect("deserializes");
    assert_eq!(cdata.sync_filters_xml, "<SyncFilters>&amp;</SyncFilters>");
    assert_eq!(cdata.note.as_deref(), Some("  a AB c  "));
}

#[test]
fn parse_tree_shape() {
    let root = doc(r#"<?xml version="1.0"?>
            <!-- leading comment -->
            <?app instruction?>
            <p:Root xmlns="urn:a" xmlns:p="urn:p" p:Id="7" Kind="x &lt; y">
              <Child>one</Child>
              mixed
              <!-- ignored -->
              <Child/>
              text
            </p:Root>
            <!-- trailing comment -->
            "#);
    assert_eq!(root.name, "p:Root");
    assert_eq!(
        root.attributes,
        vec![
            ("p:Id".to_owned(), "7".to_owned()),
            ("Kind".to_owned(), "x < y".to_owned())
        ]
    );
    assert_eq!(root.children.len(), 2);
    assert_eq!(root.children[0].text, "one");
    assert_eq!(root.children[1].text, "");
    assert!(root.text.contains("mixed"));
    assert!(root.text.contains("text"));
    assert!(root.text.find("mixed") < root.text.find("text"));

    let spaces = doc("<A>  </A>");
    assert_eq!(spaces.text, "  ");
    let wrapped = doc("<A>\n  <B/>\n</A>");
    assert_eq!(wrapped.text, "");
    let bom = parse(b"\xEF\xBB\xBF<A>x</A>", DEFAULT_MAX_DEPTH).expect("BOM is accepted");
    assert_eq!(bom.text, "x");
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ELEMENT lolz (#PCDATA)>
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>"#;

#[test]
fn doctype_is_refused() {
    assert_eq!(code_of(BILLION_LAUGHS.as_bytes()), "xml_doctype_forbidden");
    assert_eq!(
        code_of(br#"<!DOCTYPE foo SYSTEM "file:///etc/passwd"><foo/>"#),
        "xml_doctype_forbidden"
    );
    assert_eq!(code_of(b"<A><!DOCTYPE x></A>"), "xml_doctype_forbidden");
}

#[test]
fn entities_are_refused_except_predefined_and_numeric() {
    assert_eq!(code_of(b"<A>&foo;</A>"), "xml_entity_forbidden");
    assert_eq!(code_of(br#"<A B="&foo;"/>"#), "xml_entity_forbidden");
    let root = doc(r#"<A B="&quot;&apos;">&amp;&lt;&gt;&quot;&apos;&#233;&#xE9;</A>"#);
    assert_eq!(root.text, "&<>\"'éé");
    assert_eq!(root.attributes[0].1, "\"'");
    assert_eq!(code_of(b"<A>a & b</A>"), "malformed_xml");
}

#[test]
fn depth_limit() {
    let deep = format!("{}{}", "<A>".repeat(1000), "</A>".repeat(1000));
    let error = parse(deep.as_bytes(), DEFAULT_MAX_DEPTH).expect_err("too deep");
    assert_eq!(error.code().as_str(), "xml_too_deep");
    // Refused while streaming: even an unterminated deep prefix says too deep.
    let endless = "<A>".repeat(100_000);
    assert_eq!(code_of(endless.as_bytes()), "xml_too_deep");

    let ten = format!("{}x{}", "<A>".repeat(10), "</A>".repeat(10));
    assert!(parse(ten.as_bytes(), 32).is_ok());
    let exact = format!(
        "{}{}",
        "<A>".repeat(31),
        "<A/>".to_owned() + &"</A>".repeat(31)
    );
    assert!(parse(exact.as_bytes(), 32).is_ok());
    let over = format!(
        "{}{}",
        "<A>".repeat(32),
        "<A/>".to_owned() + &"</A>".repeat(32)
    );
    assert_eq!(
        parse(over.as_bytes(), 32)
            .expect_err("33 levels")
            .code()
            .as_str(),
        "xml_too_deep"
    );
    assert!(parse(b"<A/>", 1).is_ok());
    assert_eq!(
        parse(b"<A><B/></A>", 1).expect_err("2 > 1").code().as_str(),
        "xml_too_deep"
    );
}

#[test]
fn malformed_documents() {
    for bad in [
        &b"<A><B>x</B>"[..],
        b"<A/><B/>",
        b"<A></A><A></A>",
        b"<A></B>",
        b"</A>",
        b"",
        b"   ",
        b"junk<A/>",
        b"<A/>junk",
        b"<A/><![CDATA[x]]>",
        b"<A x='1' x='2'/>",
        b"<A x=1/>",
        b"<A>\xff</A>",
        b"<A><!-- \xc3 --></A>",
        b"<A/><?xml version=\"1.0\"?>",
        b"<A",
        b"<A><B></A>",
    ] {
        let error = parse(bad, DEFAULT_MAX_DEPTH).expect_err(&format!(
            "{:?} should be refused",
            String::from_utf8_lossy(bad)
        ));
        assert_eq!(
            error.code().as_str(),
            "malformed_xml",
            "{:?}: {error}",
            String::from_utf8_lossy(bad)
        );
    }
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

#[test]
fn item_names() {
    for (list, item) in [
        ("Entities", "Entity"),
        ("Records", "Record"),
        ("Jobs", "Job"),
        ("Changes", "Change"),
        ("Operations", "Operation"),
        ("Results", "Result"),
        ("Options", "Option"),
        ("Attributes", "Attribute"),
        ("Conditions", "Condition"),
        ("Filters", "Filter"),
        ("Ids", "Id"),
        ("Values", "Value"),
        ("Links", "Link"),
        ("Transactions", "Transaction"),
        ("Conflicts", "Conflict"),
        ("Orgs", "Org"),
        ("Entries", "Entry"),
        ("Providers", "Provider"),
        ("Users", "User"),
        ("Classes", "Class"),
        ("Statuses", "Status"),
        ("Boxes", "Box"),
        ("Batches", "Batch"),
        ("Wishes", "Wish"),
        ("Data", "Item"),
        ("Matrix", "Item"),
        ("s", "Item"),
        ("", "Item"),
    ] {
        assert_eq!(item_name(list), item, "item_name({list:?})");
    }
}

#[test]
fn to_xml_record_page() {
    let value = json!({"Records": [{"Id": "1", "Attributes": {"name": "a & b"}}], "Next": null});
    assert_eq!(
        to_xml("RecordPage", &value),
        r#"<?xml version="1.0" encoding="UTF-8"?><RecordPage><Records><Record><Id>1</Id><Attributes><name>a &amp; b</name></Attributes></Record></Records></RecordPage>"#
    );
}

#[test]
fn to_xml_scalars_arrays_and_odd_keys() {
    let value = json!({
        "Count": 3, "Ratio": 0.5, "Ok": true, "Empty": "", "None": [], "Obj": {},
        "Text": "<\"x\">\r\n\u{1}",
        "Matrix": [[1, 2], [3]],
        "Ids": ["a", null],
        "2nd key": "v", "with space": ["q"],
    });
    let xml = to_xml("R", &value);
    assert_eq!(
        xml,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><R>"#,
            "<Count>3</Count><Ratio>0.5</Ratio><Ok>true</Ok><Empty/><None/><Obj/>",
            "<Text>&lt;\"x\"&gt;&#13;\n\u{fffd}</Text>",
            "<Matrix><Item><Item>1</Item><Item>2</Item></Item><Item><Item>3</Item></Item></Matrix>",
            r#"<Ids><Id>a</Id><Id nil="true"/></Ids>"#,
            r#"<Item Name="2nd key">v</Item><Item Name="with space"><Item>q</Item></Item>"#,
            "</R>"
        )
    );
    // Everything written parses back.
    let back: serde_json::Value = from_element(&doc(&xml)).expect("deserializes");
    assert_eq!(back["2nd key"], json!("v"));
    assert_eq!(back["Text"], json!("<\"x\">\r\n\u{fffd}"));
    assert_eq!(back["Ids"], json!({"Id": ["a", null]}));
}

#[test]
fn odd_keys_and_whitespace_round_trip() {
    let value = json!({"a\"b\n\tc <&>": " spaced ", "Blank": "  "});
    let xml = to_xml("R", &value);
    assert!(
        xml.contains(r#"<Item Name="a&quot;b&#10;&#9;c &lt;&amp;&gt;">"#),
        "{xml}"
    );
    let back: serde_json::Value = from_element(&doc(&xml)).expect("deserializes");
    assert_eq!(back, value);

    let with_space_before_declaration = doc("\n <?xml version=\"1.0\"?>\n<A>x</A>\n");
    assert_eq!(with_space_before_declaration.text, "x");
}

#[test]
fn to_xml_root_shapes_and_namespace() {
    assert_eq!(
        to_xml("Entities", &json!(["a", "b"])),
        r#"<?xml version="1.0" encoding="UTF-8"?><Entities><Entity>a</Entity><Entity>b</Entity></Entities>"#
    );
    assert_eq!(
        to_xml("Message", &json!("hi & bye")),
        r#"<?xml version="1.0" encoding="UTF-8"?><Message>hi &amp; bye</Message>"#
    );
    let problem =
        json!({"type": "about:blank", "title": "Bad \"Request\"", "status": 400, "detail": null});
    let xml = to_xml_ns("problem", "urn:ietf:rfc:7807", &problem);
    assert_eq!(
        xml,
        r#"<?xml version="1.0" encoding="UTF-8"?><problem xmlns="urn:ietf:rfc:7807"><type>about:blank</type><title>Bad "Request"</title><status>400</status></problem>"#
    );
    let root = doc(&xml);
    assert!(root.attributes.is_empty(), "xmlns is dropped");
    assert_eq!(root.children.len(), 3);
}

#[test]
fn round_trip_typed_structs_through_to_xml() {
    let request = ConnectRequest {
        org_name: "Fabrikam & Sons <EU>".into(),
        sync_setup: SyncSetup {
            entities: vec!["account".into(), "contact".into()],
            mode: Some(SyncMode::OneWay),
            include_deleted: None,
        },
        limit: Some(500),
    };
    let value = serde_json::to_value(&request).expect("serializes");
    let xml = to_xml("ConnectRequest", &value);
    let back: ConnectRequest = from_element(&doc(&xml)).expect("deserializes");
    assert_eq!(back, request);

    let batch = Batch {
        operations: vec![
            Operation {
                op: "Upsert".into(),
                entity: "account".into(),
                attributes: Some(json!({"name": "Contoso", "my field": "x"})),
            },
            Operation {
                op: "Delete".into(),
                entity: "lead".into(),
                attributes: None,
            },
        ],
    };
    let xml = to_xml("Batch", &serde_json::to_value(&batch).expect("serializes"));
    let back: Batch = from_element(&doc(&xml)).expect("deserializes");
    assert_eq!(back, batch);

    let counts: HashMap<String, u64> = [("a".to_owned(), 1), ("b c".to_owned(), 2)].into();
    let xml = to_xml(
        "Counts",
        &serde_json::to_value(&counts).expect("serializes"),
    );
    let back: HashMap<String, u64> = from_element(&doc(&xml)).expect("deserializes");
    assert_eq!(back, counts);
}
