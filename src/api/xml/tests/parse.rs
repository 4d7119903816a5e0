//! The parser: the tree it builds and what it refuses.

use super::*;

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
