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

use std::collections::HashMap;
use std::fmt;

use quick_xml::escape::EscapeError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, Visitor};
use serde_json::Value;

/// Nesting limit for request bodies; the root element counts as depth 1.
pub const DEFAULT_MAX_DEPTH: usize = 32;

const CODE_MALFORMED: &str = "malformed_xml";
const CODE_DOCTYPE: &str = "xml_doctype_forbidden";
const CODE_ENTITY: &str = "xml_entity_forbidden";
const CODE_TOO_DEEP: &str = "xml_too_deep";

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
        code: &'static str,
        message: String,
    },
}

impl XmlError {
    /// The machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            XmlError::Malformed { code, .. } => code,
        }
    }

    fn new(code: &'static str, message: impl Into<String>) -> Self {
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
        attributes.push((key.to_owned(), value.into_owned()));
    }
    Ok(Element {
        name,
        attributes,
        children: Vec::new(),
        text: String::new(),
    })
}

// ---------------------------------------------------------------------------------------------
// Deserializer
// ---------------------------------------------------------------------------------------------

/// A deserialization failure, with the path of the element where it happened
/// (for example `ConnectRequest.SyncSetup.Entities[2]`; list indexes start at 0).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct DeError {
    /// Human-readable message; starts with the path when one is known.
    pub message: String,
    /// Dotted path from the root element, with `[n]` for list items.
    pub path: String,
}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            message: msg.to_string(),
            path: String::new(),
        }
    }
}

impl DeError {
    fn at(path: &str, message: impl fmt::Display) -> Self {
        DeError {
            message: format!("{path}: {message}"),
            path: path.to_owned(),
        }
    }

    /// Gives a path to an error raised by a visitor (serde's own messages carry none).
    fn locate(self, path: &str) -> Self {
        if self.path.is_empty() {
            Self::at(path, self.message)
        } else {
            self
        }
    }
}

/// Deserializes a `T` from an element (the element is the root; its name is not checked).
pub fn from_element<T: serde::de::DeserializeOwned>(root: &Element) -> Result<T, DeError> {
    T::deserialize(ElementDeserializer {
        element: root,
        path: root.name.clone(),
    })
}

/// Deserializes from one element, driven by the requested type.
struct ElementDeserializer<'de> {
    element: &'de Element,
    path: String,
}

impl<'de> ElementDeserializer<'de> {
    /// The element as a text leaf; an error if it has child elements.
    fn into_text(self) -> Result<TextDeserializer<'de>, DeError> {
        if self.element.children.is_empty() {
            Ok(TextDeserializer {
                text: &self.element.text,
                path: self.path,
            })
        } else {
            Err(DeError::at(
                &self.path,
                "expected text, found child elements",
            ))
        }
    }

    fn visit_fields<V: Visitor<'de>>(
        self,
        mode: MapMode<'_>,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let element = self.element;
        if element.children.is_empty() && !is_xml_whitespace(&element.text) {
            return Err(DeError::at(
                &self.path,
                "expected child elements, found text",
            ));
        }
        let map = ElementMap::new(element, mode, &self.path);
        visitor
            .visit_map(map)
            .map_err(|error: DeError| error.locate(&self.path))
    }
}

macro_rules! leaf_methods {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                self.into_text()?.$method(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for ElementDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let element = self.element;
        let result = if element.is_nil() {
            visitor.visit_unit()
        } else if !element.children.is_empty() {
            visitor.visit_map(ElementMap::new(element, MapMode::Any, &self.path))
        } else {
            visitor.visit_borrowed_str(&element.text)
        };
        result.map_err(|error: DeError| error.locate(&self.path))
    }

    leaf_methods! {
        deserialize_bool
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
        deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_identifier
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        let result = if self.element.is_nil() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        };
        result.map_err(|error: DeError| error.locate(&path))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_unit()
            .map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        visitor
            .visit_newtype_struct(self)
            .map_err(|error: DeError| error.locate(&path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let element = self.element;
        let result = if element.children.is_empty() {
            visitor.visit_seq(TextSeq::new(&element.text, &self.path))
        } else {
            visitor.visit_seq(ElementSeq::new(
                element.children.iter().collect(),
                &self.path,
            ))
        };
        result.map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.visit_fields(MapMode::Map, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.visit_fields(MapMode::Struct(fields), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let element = self.element;
        let result = match element.children.as_slice() {
            [] => visitor.visit_enum(StrDeserializer::<DeError>::new(element.text.trim())),
            [child] => visitor.visit_enum(ElementEnum {
                child,
                path: format!("{}.{}", self.path, child.name),
            }),
            children => Err(DeError::at(
                &self.path,
                format!(
                    "expected a single child element naming the variant, found {}",
                    children.len()
                ),
            )),
        };
        result.map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }
}

/// Deserializes from a piece of text: an element's text, an attribute value, one part of a
/// comma-separated list, or a map key.
struct TextDeserializer<'de> {
    text: &'de str,
    path: String,
}

impl TextDeserializer<'_> {
    fn invalid(&self, expected: &str) -> DeError {
        DeError::at(
            &self.path,
            format!("expected {expected}, found {:?}", self.text),
        )
    }
}

macro_rules! parse_methods {
    ($($method:ident $visit:ident $ty:ty;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
                match self.text.trim().parse::<$ty>() {
                    Ok(value) => visitor.$visit(value).map_err(|error: DeError| error.locate(&self.path)),
                    Err(_) => Err(self.invalid(stringify!($ty))),
                }
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for TextDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_borrowed_str(self.text)
            .map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let value = match self.text.trim() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(self.invalid("a boolean (true, false, 1 or 0)")),
        };
        visitor
            .visit_bool(value)
            .map_err(|error: DeError| error.locate(&self.path))
    }

    parse_methods! {
        deserialize_i8 visit_i8 i8;
        deserialize_i16 visit_i16 i16;
        deserialize_i32 visit_i32 i32;
        deserialize_i64 visit_i64 i64;
        deserialize_i128 visit_i128 i128;
        deserialize_u8 visit_u8 u8;
        deserialize_u16 visit_u16 u16;
        deserialize_u32 visit_u32 u32;
        deserialize_u64 visit_u64 u64;
        deserialize_u128 visit_u128 u128;
        deserialize_f32 visit_f32 f32;
        deserialize_f64 visit_f64 f64;
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let mut chars = self.text.chars();
        let single = match (chars.next(), chars.next()) {
            (Some(c), None) => Some(c),
            _ => {
                let mut trimmed = self.text.trim().chars();
                match (trimmed.next(), trimmed.next()) {
                    (Some(c), None) => Some(c),
                    _ => None,
                }
            }
        };
        match single {
            Some(c) => visitor
                .visit_char(c)
                .map_err(|error: DeError| error.locate(&self.path)),
            None => Err(self.invalid("a single character")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_any(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_borrowed_bytes(self.text.as_bytes())
            .map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        visitor
            .visit_some(self)
            .map_err(|error: DeError| error.locate(&path))
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_unit()
            .map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        visitor
            .visit_newtype_struct(self)
            .map_err(|error: DeError| error.locate(&path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_seq(TextSeq::new(self.text, &self.path))
            .map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if !is_xml_whitespace(self.text) {
            return Err(self.invalid("child elements"));
        }
        let map = ElementMap {
            entries: Vec::new().into_iter(),
            pending: None,
            path: self.path.clone(),
        };
        visitor
            .visit_map(map)
            .map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor
            .visit_enum(StrDeserializer::<DeError>::new(self.text.trim()))
            .map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_borrowed_str(self.text.trim())
            .map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }
}

/// Several sibling elements with the same name, met where a single value was expected.
/// Only `deserialize_any` (a sequence) and ignoring accept them.
struct GroupDeserializer<'de> {
    elements: Vec<&'de Element>,
    name: &'de str,
    path: String,
}

impl GroupDeserializer<'_> {
    fn repeated(&self) -> DeError {
        DeError::at(
            &self.path,
            format!(
                "element {} appears more than once (a list must use a wrapper element)",
                self.name
            ),
        )
    }
}

macro_rules! repeated_methods {
    ($($method:ident ($($arg:ident : $ty:ty),*))*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* _visitor: V) -> Result<V::Value, DeError> {
                $(let _ = $arg;)*
                Err(self.repeated())
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for GroupDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let seq = ElementSeq::new(self.elements, &self.path);
        visitor
            .visit_seq(seq)
            .map_err(|error: DeError| error.locate(&self.path))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor
            .visit_unit()
            .map_err(|error: DeError| error.locate(&self.path))
    }

    repeated_methods! {
        deserialize_bool()
        deserialize_i8() deserialize_i16() deserialize_i32() deserialize_i64() deserialize_i128()
        deserialize_u8() deserialize_u16() deserialize_u32() deserialize_u64() deserialize_u128()
        deserialize_f32() deserialize_f64()
        deserialize_char() deserialize_str() deserialize_string()
        deserialize_bytes() deserialize_byte_buf() deserialize_identifier()
        deserialize_option() deserialize_unit() deserialize_seq() deserialize_map()
        deserialize_unit_struct(name: &'static str)
        deserialize_newtype_struct(name: &'static str)
        deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize)
        deserialize_struct(name: &'static str, fields: &'static [&'static str])
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
    }
}

/// Items of a list given as elements (the children of a wrapper, or a repeated group).
struct ElementSeq<'de> {
    items: std::vec::IntoIter<&'de Element>,
    index: usize,
    path: String,
}

impl<'de> ElementSeq<'de> {
    fn new(items: Vec<&'de Element>, path: &str) -> Self {
        ElementSeq {
            items: items.into_iter(),
            index: 0,
            path: path.to_owned(),
        }
    }
}

impl<'de> de::SeqAccess<'de> for ElementSeq<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(element) = self.items.next() else {
            return Ok(None);
        };
        let path = format!("{}[{}]", self.path, self.index);
        self.index += 1;
        seed.deserialize(ElementDeserializer { element, path })
            .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

/// Items of a list given as comma-separated text (`account, contact`).
struct TextSeq<'de> {
    parts: std::vec::IntoIter<&'de str>,
    index: usize,
    path: String,
}

impl<'de> TextSeq<'de> {
    fn new(text: &'de str, path: &str) -> Self {
        let parts: Vec<&'de str> = text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect();
        TextSeq {
            parts: parts.into_iter(),
            index: 0,
            path: path.to_owned(),
        }
    }
}

impl<'de> de::SeqAccess<'de> for TextSeq<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some(text) = self.parts.next() else {
            return Ok(None);
        };
        let path = format!("{}[{}]", self.path, self.index);
        self.index += 1;
        seed.deserialize(TextDeserializer { text, path }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.parts.len())
    }
}

/// Which keys an element offers when read as a map.
#[derive(Clone, Copy)]
enum MapMode<'a> {
    /// `deserialize_any`: child elements only; `<Item Name="k">` is keyed by `k`.
    Any,
    /// A generic map: child elements (keyed like `Any`) and attributes other than
    /// `nil`, `xsi:*` and the `Name` of an `<Item>`.
    Map,
    /// A struct: child elements by name, plus attributes named like one of the fields.
    Struct(&'a [&'a str]),
}

enum MapValue<'de> {
    Element(&'de Element),
    Group(Vec<&'de Element>),
    Text(&'de str),
}

struct ElementMap<'de> {
    entries: std::vec::IntoIter<(&'de str, MapValue<'de>)>,
    pending: Option<(&'de str, MapValue<'de>, String)>,
    path: String,
}

impl<'de> ElementMap<'de> {
    fn new(element: &'de Element, mode: MapMode<'_>, path: &str) -> Self {
        let mut entries: Vec<(&'de str, MapValue<'de>)> = Vec::new();
        let mut positions: HashMap<&'de str, usize> = HashMap::new();

        for child in &element.children {
            let key = match mode {
                MapMode::Struct(_) => child.name.as_str(),
                MapMode::Any | MapMode::Map => map_key(child),
            };
            match positions.get(key).and_then(|&i| entries.get_mut(i)) {
                Some(entry) => {
                    let previous = std::mem::replace(&mut entry.1, MapValue::Group(Vec::new()));
                    entry.1 = match previous {
                        MapValue::Element(first) => MapValue::Group(vec![first, child]),
                        MapValue::Group(mut group) => {
                            group.push(child);
                            MapValue::Group(group)
                        }
                        MapValue::Text(_) => MapValue::Element(child),
                    };
                }
                None => {
                    positions.insert(key, entries.len());
                    entries.push((key, MapValue::Element(child)));
                }
            }
        }

        for (name, value) in &element.attributes {
            let wanted = match mode {
                MapMode::Any => false,
                MapMode::Map => {
                    name != "nil"
                        && !name.starts_with("xsi:")
                        && !(element.name == "Item" && name == "Name")
                }
                MapMode::Struct(fields) => fields.contains(&name.as_str()),
            };
            if wanted && !positions.contains_key(name.as_str()) {
                positions.insert(name, entries.len());
                entries.push((name, MapValue::Text(value)));
            }
        }

        ElementMap {
            entries: entries.into_iter(),
            pending: None,
            path: path.to_owned(),
        }
    }
}

/// The map key of a child element: its name, or the `Name` attribute of an `<Item>` (how
/// [`to_xml`] writes keys that are not valid XML names).
fn map_key(child: &Element) -> &str {
    match child.attribute("Name") {
        Some(name) if child.name == "Item" => name,
        _ => &child.name,
    }
}

impl<'de> de::MapAccess<'de> for ElementMap<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let path = format!("{}.{}", self.path, key);
        self.pending = Some((key, value, path.clone()));
        seed.deserialize(TextDeserializer { text: key, path })
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.pending.take() {
            Some((_, MapValue::Element(element), path)) => {
                seed.deserialize(ElementDeserializer { element, path })
            }
            Some((name, MapValue::Group(elements), path)) => seed.deserialize(GroupDeserializer {
                elements,
                name,
                path,
            }),
            Some((_, MapValue::Text(text), path)) => {
                seed.deserialize(TextDeserializer { text, path })
            }
            None => Err(DeError::at(
                &self.path,
                "map value requested before its key",
            )),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// An enum given as `<Field><Variant>…</Variant></Field>`.
struct ElementEnum<'de> {
    child: &'de Element,
    path: String,
}

impl<'de> de::EnumAccess<'de> for ElementEnum<'de> {
    type Error = DeError;
    type Variant = ElementDeserializer<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self::Variant), DeError> {
        let variant = seed.deserialize(TextDeserializer {
            text: &self.child.name,
            path: self.path.clone(),
        })?;
        Ok((
            variant,
            ElementDeserializer {
                element: self.child,
                path: self.path,
            },
        ))
    }
}

impl<'de> de::VariantAccess<'de> for ElementDeserializer<'de> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, DeError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.visit_fields(MapMode::Struct(fields), visitor)
    }
}

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
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
            let xml = format!(
                "<SyncSetup><Entities/><IncludeDeleted>{text}</IncludeDeleted></SyncSetup>"
            );
            let setup: SyncSetup = de(&xml).expect("deserializes");
            assert_eq!(setup.include_deleted, Some(expected));
        }
        let setup: SyncSetup = de(r#"<SyncSetup xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><Entities/><IncludeDeleted xsi:nil="true"/><Mode nil="true"/></SyncSetup>"#)
            .expect("deserializes");
        assert_eq!(setup.include_deleted, None);
        assert_eq!(setup.mode, None);
        let error = de::<SyncSetup>(
            "<SyncSetup><Entities/><IncludeDeleted>yes</IncludeDeleted></SyncSetup>",
        )
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
            de("<Counts><account>12</account><contact> 7 </contact></Counts>")
                .expect("deserializes");
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
        assert_eq!(error.code(), "xml_too_deep");
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
            parse(over.as_bytes(), 32).expect_err("33 levels").code(),
            "xml_too_deep"
        );
        assert!(parse(b"<A/>", 1).is_ok());
        assert_eq!(
            parse(b"<A><B/></A>", 1).expect_err("2 > 1").code(),
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
                error.code(),
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
        let t: T = de(
            "<T><Id>42</Id><Pair><A>x</A><B>3</B></Pair><Extra>e</Extra><More><X>1</X></More></T>",
        )
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
        let value =
            json!({"Records": [{"Id": "1", "Attributes": {"name": "a & b"}}], "Next": null});
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
        let problem = json!({"type": "about:blank", "title": "Bad \"Request\"", "status": 400, "detail": null});
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
}
