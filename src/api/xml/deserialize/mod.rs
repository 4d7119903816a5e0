//! The type-driven serde deserializer over an [`Element`] tree.

use std::fmt;

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeSeed, Visitor};

use super::*;

mod access;
mod text;

use access::*;
use text::*;

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
            visitor.visit_map(ElementMap::new(element, MapMode::Map, &self.path))
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

    /// A nil element, and an empty one (`<SyncMode/>`, no children, attributes or text), is
    /// absent.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let path = self.path.clone();
        let element = self.element;
        let empty = element.children.is_empty()
            && element.attributes.is_empty()
            && element.text.trim().is_empty();
        let result = if element.is_nil() || empty {
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
