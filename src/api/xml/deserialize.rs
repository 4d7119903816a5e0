//! The type-driven serde deserializer over an [`Element`] tree.

use std::collections::HashMap;
use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, Visitor};

use super::*;

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
