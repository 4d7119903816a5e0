//! Deserializing from text: an element's text, an attribute, a list item, a map key.

use serde::de::value::StrDeserializer;
use serde::de::{self, Visitor};

use super::*;

/// Deserializes from a piece of text: an element's text, an attribute value, one part of a
/// comma-separated list, or a map key.
pub(super) struct TextDeserializer<'de> {
    pub(super) text: &'de str,
    pub(super) path: String,
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
