//! Writing JSON values as XML, and round trips.

use super::*;

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
