//! Writing a `serde_json::Value` as an XML document.

use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

/// Writes a JSON value as an XML document: the declaration, then the root element named
/// `root_name`.
///
/// Object members become child elements in order (null members are omitted; a key that is
/// not an XML name is written as `<Item Name="key">`); an array becomes one child per item,
/// named [`item_name`] of the array's element name (`Item` inside nested arrays); a null
/// array item is written `<X nil="true"/>`; strings are escaped, numbers and booleans are
/// written as their JSON text.
pub fn to_xml(root_name: &str, value: &Value) -> String {
    write_document(root_name, None, value)
}

/// Like [`to_xml`], with a default namespace declared on the root element (for RFC 9457
/// `application/problem+xml`, namespace `urn:ietf:rfc:7807`).
pub fn to_xml_ns(root_name: &str, namespace: &str, value: &Value) -> String {
    write_document(root_name, Some(namespace), value)
}

fn write_document(root_name: &str, namespace: Option<&str>, value: &Value) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(DECLARATION);
    let attributes: Vec<(&str, &str)> = namespace.map(|ns| ("xmlns", ns)).into_iter().collect();
    write_element(
        &mut out,
        root_name,
        &attributes,
        value,
        &list_item_name(root_name),
    );
    out
}

/// The item element name used for members of a list field: `Entities` → `Entity`,
/// `Classes` → `Class`, `Statuses` → `Status`, `Ids` → `Id`; a name not ending in `s` gives
/// `Item`.
///
/// Rules: `ies` → `y`; `sses`, `xes`, `ches`, `shes` and `uses` drop `es`; any other
/// trailing `s` is dropped.
pub fn item_name(list_name: &str) -> String {
    let singular = if let Some(stem) = list_name.strip_suffix("ies") {
        format!("{stem}y")
    } else if ["sses", "xes", "ches", "shes", "uses"]
        .iter()
        .any(|suffix| list_name.ends_with(suffix))
    {
        list_name.strip_suffix("es").unwrap_or(list_name).to_owned()
    } else if let Some(stem) = list_name.strip_suffix('s') {
        stem.to_owned()
    } else {
        String::new()
    };
    if singular.is_empty() {
        "Item".to_owned()
    } else {
        singular
    }
}

/// [`item_name`], falling back to `Item` when the result is not a usable element name.
fn list_item_name(list_name: &str) -> String {
    let name = item_name(list_name);
    if is_xml_name(&name) {
        name
    } else {
        "Item".to_owned()
    }
}

fn write_element(
    out: &mut String,
    name: &str,
    attributes: &[(&str, &str)],
    value: &Value,
    list_item: &str,
) {
    out.push('<');
    out.push_str(name);
    for (key, attribute) in attributes {
        out.push(' ');
        out.push_str(key);
        out.push_str("=\"");
        escape_into(out, attribute, true);
        out.push('"');
    }
    let empty = match value {
        Value::Null => {
            out.push_str(" nil=\"true\"");
            true
        }
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(members) => members.values().all(Value::is_null),
        Value::Bool(_) | Value::Number(_) => false,
    };
    if empty {
        out.push_str("/>");
        return;
    }
    out.push('>');
    match value {
        Value::Null => {}
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::String(text) => escape_into(out, text, false),
        Value::Array(items) => {
            for item in items {
                write_element(out, list_item, &[], item, "Item");
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                if member.is_null() {
                    continue;
                }
                let child_items = list_item_name(key);
                if is_xml_name(key) {
                    write_element(out, key, &[], member, &child_items);
                } else {
                    write_element(out, "Item", &[("Name", key)], member, &child_items);
                }
            }
        }
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Escapes text content (`&`, `<`, `>`, carriage return) or an attribute value (also `"`,
/// tab and newline, which attribute normalization would otherwise turn into spaces).
/// Characters XML 1.0 cannot carry at all become U+FFFD.
fn escape_into(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            _ => out.push(c),
        }
    }
}

/// Whether `name` can be written as an element name: an XML 1.0 `Name` without colons.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) if is_name_start_char(first) => chars.all(is_name_char),
        _ => false,
    }
}

fn is_name_start_char(c: char) -> bool {
    matches!(c,
        'A'..='Z' | '_' | 'a'..='z'
        | '\u{c0}'..='\u{d6}' | '\u{d8}'..='\u{f6}' | '\u{f8}'..='\u{2ff}'
        | '\u{370}'..='\u{37d}' | '\u{37f}'..='\u{1fff}' | '\u{200c}'..='\u{200d}'
        | '\u{2070}'..='\u{218f}' | '\u{2c00}'..='\u{2fef}' | '\u{3001}'..='\u{d7ff}'
        | '\u{f900}'..='\u{fdcf}' | '\u{fdf0}'..='\u{fffd}' | '\u{10000}'..='\u{effff}')
}

fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c,
            '-' | '.' | '0'..='9' | '\u{b7}' | '\u{300}'..='\u{36f}' | '\u{203f}'..='\u{2040}')
}
