//! XML request and response bodies.
//!
//! Every orgsync endpoint accepts and returns either JSON or XML with the same PascalCase
//! field names. This module is the XML side:
//!
//! * [`parse`] reads a document into an [`Element`] tree with `quick_xml`'s event reader,
//!   refusing what a hostile client could abuse (DOCTYPEs, custom entities, deep nesting)
//!   while it streams, before any large tree is built;
//! * [`from_element`] deserializes any `serde` type from such a tree;
//! * [`to_xml`] and [`to_xml_ns`] write a `serde_json::Value` (what the handlers build for
//!   JSON anyway) as an XML document.
//!
//! The deserializer is type-driven. XML cannot say by itself whether `<Entities>` holds a
//! list or a struct, whether `<Limit>5</Limit>` is a number or a string, or whether one child
//! is a one-item list; JSON can. So the element is read the way the target Rust type asks
//! for it: a `Vec` reads every child element (or comma-separated text) as an item, a struct
//! reads child elements as fields, a number parses the text, and so on. Only where the type
//! does not say (`serde_json::Value`, untagged enums) does the shape of the XML decide, and
//! then leaves stay strings that the application coerces with its own metadata.

use quick_xml::escape::EscapeError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Nesting limit for request bodies; the root element counts as depth 1.
pub const DEFAULT_MAX_DEPTH: usize = 32;

use crate::domain::error::Code;

const CODE_MALFORMED: Code = Code::MalformedXml;
const CODE_DOCTYPE: Code = Code::XmlDoctypeForbidden;
const CODE_ENTITY: Code = Code::XmlEntityForbidden;
const CODE_TOO_DEEP: Code = Code::XmlTooDeep;

// ---------------------------------------------------------------------------------------------
// Element tree and parser
// ---------------------------------------------------------------------------------------------

/// A parsed XML element.
///
/// `name` is the qualified name as written (prefix kept). `attributes` hold unescaped
/// values, without `xmlns` / `xmlns:*` declarations. `text` is the element's character data
/// (entity references resolved, CDATA taken verbatim); when the element has children,
/// whitespace-only runs between them are dropped and the remaining runs concatenated.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// `nil="true"` or `xsi:nil="true"` (any prefix bound to `nil`).
    fn is_nil(&self) -> bool {
        self.attributes.iter().any(|(key, value)| {
            (key == "nil" || key.ends_with(":nil")) && matches!(value.trim(), "true" | "1")
        })
    }
}

/// Why a document was refused by [`parse`].
#[derive(Debug, thiserror::Error)]
pub enum XmlError {
    /// Syntax errors, truncated input, a DOCTYPE, an entity reference other than the five
    /// predefined ones and numeric character references, nesting deeper than the limit, more
    /// than one root, text or garbage outside the root, invalid UTF-8.
    #[error("{message}")]
    Malformed {
        /// One of `malformed_xml`, `xml_doctype_forbidden`, `xml_entity_forbidden`,
        /// `xml_too_deep`.
        code: Code,
        message: String,
    },
}

impl XmlError {
    /// The machine-readable error code.
    pub fn code(&self) -> Code {
        match self {
            XmlError::Malformed { code, .. } => *code,
        }
    }

    fn new(code: Code, message: impl Into<String>) -> Self {
        XmlError::Malformed {
            code,
            message: message.into(),
        }
    }

    fn malformed(message: impl Into<String>) -> Self {
        Self::new(CODE_MALFORMED, message)
    }

    fn from_quick(error: &quick_xml::Error, position: u64) -> Self {
        match error {
            quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, name)) => Self::new(
                CODE_ENTITY,
                format!("entity reference `&{name};` is not allowed (near byte {position})"),
            ),
            other => Self::malformed(format!("malformed XML near byte {position}: {other}")),
        }
    }
}

/// An element whose end tag has not been read yet.
struct Open {
    element: Element,
    /// Text read since the last child element (or the start tag).
    segment: String,
}

impl Open {
    /// Called when a child starts: keep the pending text unless it is only whitespace.
    fn flush_segment(&mut self) {
        if !is_xml_whitespace(&self.segment) {
            self.element.text.push_str(&self.segment);
        }
        self.segment.clear();
    }

    fn finish(mut self) -> Element {
        if self.element.children.is_empty() {
            self.element.text.push_str(&self.segment);
        } else {
            self.flush_segment();
        }
        self.element
    }
}

/// Refuses a character XML 1.0 does not allow (`Char`: tab, newline, carriage return and
/// U+0020 up, without surrogates, U+FFFE and U+FFFF), written or as a reference, naming it and
/// where it is.
fn check_chars(text: &str, position: u64) -> Result<(), XmlError> {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}'
    };
    match text.char_indices().find(|(_, c)| !allowed(*c)) {
        None => Ok(()),
        Some((at, c)) => Err(XmlError::malformed(format!(
            "character U+{:04X} is not allowed in XML (near byte {})",
            u32::from(c),
            position.max(at as u64)
        ))),
    }
}

fn is_xml_whitespace(text: &str) -> bool {
    text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// Parses a whole document into its root element.
///
/// Refuses `<!DOCTYPE` anywhere (`xml_doctype_forbidden`), any `&name;` other than the five
/// predefined entities and numeric character references (`xml_entity_forbidden`), element
/// depth above `max_depth` (`xml_too_deep`, the root being depth 1; checked while
/// streaming), and every other well-formedness problem (`malformed_xml`). Comments and
/// processing instructions are ignored, as is a leading `<?xml …?>` declaration.
pub fn parse(input: &[u8], max_depth: usize) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(input).map_err(|error| {
        XmlError::malformed(format!("invalid UTF-8 at byte {}", error.valid_up_to()))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_chars(text, 0)?;

    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Element> = None;
    // Whether anything but whitespace, comments and PIs has been read (for the declaration).
    let mut started = false;

    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(error) => return Err(XmlError::from_quick(&error, reader.error_position())),
        };
        let position = reader.buffer_position();
        match event {
            Event::Decl(_) => {
                if started {
                    return Err(XmlError::malformed(format!(
                        "XML declaration is only allowed at the start (near byte {position})"
                    )));
                }
                started = true;
            }
            Event::DocType(_) => {
                return Err(XmlError::new(
                    CODE_DOCTYPE,
                    "DOCTYPE declarations are not allowed",
                ));
            }
            Event::PI(_) | Event::Comment(_) => {}
            Event::Start(start) => {
                started = true;
                check_can_open(&stack, root.as_ref(), max_depth, position)?;
                let element = element_from_start(&start, position)?;
                if let Some(parent) = stack.last_mut() {
                    parent.flush_segment();
                }
                stack.push(Open {
                    element,
                    segment: String::new(),
                });
            }
            Event::Empty(start) => {
                started = true;
                check_can_open(&stack, root.as_ref(), max_depth, position)?;
                let element = element_from_start(&start, position)?;
                attach(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                // quick_xml already checks that end tags match their start tags.
                let Some(open) = stack.pop() else {
                    return Err(XmlError::malformed(format!(
                        "unexpected end tag near byte {position}"
                    )));
                };
                attach(&mut stack, &mut root, open.finish());
            }
            Event::Text(text) => match stack.last_mut() {
                Some(open) => {
                    let unescaped = text
                        .unescape()
                        .map_err(|error| XmlError::from_quick(&error, position))?;
                    check_chars(&unescaped, position)?;
                    open.segment.push_str(&unescaped);
                }
                None => {
                    let raw = text.into_inner();
                    if !raw
                        .iter()
                        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                    {
                        return Err(XmlError::malformed(format!(
                            "text outside the root element near byte {position}"
                        )));
                    }
                }
            },
            Event::CData(cdata) => {
                let Some(open) = stack.last_mut() else {
                    return Err(XmlError::malformed(format!(
                        "CDATA outside the root element near byte {position}"
                    )));
                };
                let content = cdata.decode().map_err(|error| {
                    XmlError::malformed(format!("invalid CDATA near byte {position}: {error}"))
                })?;
                open.segment.push_str(&content);
            }
            Event::Eof => break,
        }
    }

    if let Some(open) = stack.last() {
        return Err(XmlError::malformed(format!(
            "unexpected end of document: element <{}> is not closed",
            open.element.name
        )));
    }
    root.ok_or_else(|| XmlError::malformed("the document has no root element"))
}

fn check_can_open(
    stack: &[Open],
    root: Option<&Element>,
    max_depth: usize,
    position: u64,
) -> Result<(), XmlError> {
    if stack.is_empty() && root.is_some() {
        return Err(XmlError::malformed(format!(
            "more than one root element (near byte {position})"
        )));
    }
    if stack.len() >= max_depth {
        return Err(XmlError::new(
            CODE_TOO_DEEP,
            format!("elements are nested deeper than {max_depth} levels"),
        ));
    }
    Ok(())
}

fn attach(stack: &mut [Open], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => {
            parent.flush_segment();
            parent.element.children.push(element);
        }
        None => *root = Some(element),
    }
}

fn element_from_start(start: &BytesStart<'_>, position: u64) -> Result<Element, XmlError> {
    let name = std::str::from_utf8(start.name().as_ref())
        .map_err(|_| XmlError::malformed(format!("invalid element name near byte {position}")))?
        .to_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|error| {
            XmlError::malformed(format!(
                "invalid attribute in <{name}> near byte {position}: {error}"
            ))
        })?;
        let key = std::str::from_utf8(attribute.key.as_ref()).map_err(|_| {
            XmlError::malformed(format!("invalid attribute name near byte {position}"))
        })?;
        if key == "xmlns" || key.starts_with("xmlns:") {
            continue;
        }
        let value = attribute
            .unescape_value()
            .map_err(|error| XmlError::from_quick(&error, position))?;
        check_chars(&value, position)?;
        attributes.push((key.to_owned(), value.into_owned()));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
        text: String::new(),
    })
}

mod deserialize;
#[cfg(test)]
mod tests;
mod write;

pub use deserialize::{from_element, DeError};
pub use write::{item_name, to_xml, to_xml_ns};
