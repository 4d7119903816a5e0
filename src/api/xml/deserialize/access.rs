//! Sequences, maps and groups of sibling elements.

use std::collections::HashMap;

use serde::de::{self, DeserializeSeed, Visitor};

use super::*;

/// Several sibling elements with the same name, met where a single value was expected.
/// Only `deserialize_any` (a sequence) and ignoring accept them.
pub(super) struct GroupDeserializer<'de> {
    pub(super) elements: Vec<&'de Element>,
    pub(super) name: &'de str,
    pub(super) path: String,
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
pub(super) struct ElementSeq<'de> {
    pub(super) items: std::vec::IntoIter<&'de Element>,
    pub(super) index: usize,
    pub(super) path: String,
}

impl<'de> ElementSeq<'de> {
    pub(super) fn new(items: Vec<&'de Element>, path: &str) -> Self {
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
pub(super) struct TextSeq<'de> {
    pub(super) parts: std::vec::IntoIter<&'de str>,
    pub(super) index: usize,
    pub(super) path: String,
}

impl<'de> TextSeq<'de> {
    pub(super) fn new(text: &'de str, path: &str) -> Self {
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
pub(super) enum MapMode<'a> {
    /// A generic map (and `deserialize_any` of an element with children): child elements
    /// (`<Item Name="k">` keyed by `k`) and attributes other than `nil`, `xsi:*` and the
    /// `Name` of an `<Item>`.
    Map,
    /// A struct: child elements by name, plus attributes named like one of the fields.
    Struct(&'a [&'a str]),
}

pub(super) enum MapValue<'de> {
    Element(&'de Element),
    Group(Vec<&'de Element>),
    Text(&'de str),
}

pub(super) struct ElementMap<'de> {
    pub(super) entries: std::vec::IntoIter<(&'de str, MapValue<'de>)>,
    pub(super) pending: Option<(&'de str, MapValue<'de>, String)>,
    pub(super) path: String,
}

impl<'de> ElementMap<'de> {
    pub(super) fn new(element: &'de Element, mode: MapMode<'_>, path: &str) -> Self {
        let mut entries: Vec<(&'de str, MapValue<'de>)> = Vec::new();
        let mut positions: HashMap<&'de str, usize> = HashMap::new();

        for child in &element.children {
            let key = match mode {
                MapMode::Struct(_) => child.name.as_str(),
                MapMode::Map => map_key(child),
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
pub(super) fn map_key(child: &Element) -> &str {
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
