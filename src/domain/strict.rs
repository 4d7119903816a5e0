//! Objects are objects. serde's derive also reads a struct from an array of its fields in
//! order, so `"Quotas": [null, null]` passed for empty quotas; no client means that, and the
//! contract does not allow it. [`objects_only!`] gives a type a `Deserialize` that takes a map
//! (a JSON object, an XML element) and refuses anything else, while its derived
//! `#[serde(remote = "Self")]` code still reads the members.

use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::forward_to_deserialize_any;

/// What [`objects_only!`] implements from the derived code.
pub trait FromMap<'de>: Sized {
    fn from_map<A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// Takes only a map, and hands it to the derived code.
pub struct ObjectVisitor<T>(&'static str, PhantomData<T>);

impl<T> ObjectVisitor<T> {
    pub fn new(name: &'static str) -> Self {
        Self(name, PhantomData)
    }
}

impl<'de, T: FromMap<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object ({})", self.0)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map)
    }
}

/// Reads a map through the derived code (the `remote = "Self"` function `read`).
pub fn through<'de, A, T, F>(map: A, read: F) -> Result<T, A::Error>
where
    A: MapAccess<'de>,
    F: FnOnce(MapAccessDeserializer<A>) -> Result<T, A::Error>,
{
    read(MapAccessDeserializer::new(map))
}

/// The member names the derived code of a struct passes to `deserialize_struct` (a format such
/// as XML reads the members by them), found once by asking it.
pub fn fields_of(
    cell: &'static OnceLock<&'static [&'static str]>,
    ask: impl FnOnce(FieldNames) -> Result<(), Found>,
) -> &'static [&'static str] {
    cell.get_or_init(|| match ask(FieldNames) {
        Err(Found(Some(fields))) => fields,
        _ => &[],
    })
}

/// A deserializer that only learns which members a struct has.
pub struct FieldNames;

#[derive(Debug)]
pub struct Found(Option<&'static [&'static str]>);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("member names")
    }
}

impl std::error::Error for Found {}

impl de::Error for Found {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self(None)
    }
}

impl<'de> de::Deserializer<'de> for FieldNames {
    type Error = Found;
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Found> {
        Err(Found(None))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Found> {
        Err(Found(Some(fields)))
    }
    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// Implements `Deserialize` (objects only) for structs that derive it with
/// `#[serde(remote = "Self")]`, and `Serialize` for those that derive that too:
/// `objects_only!(A, B; read_only: C)`.
#[macro_export]
macro_rules! objects_only {
    ($($ty:ident),* $(; read_only: $($read:ident),+)? $(,)?) => {
        $($crate::objects_only!(@read $ty); $crate::objects_only!(@write $ty);)*
        $($($crate::objects_only!(@read $read);)+)?
    };
    (@read $ty:ident) => {
        impl<'de> $crate::domain::strict::FromMap<'de> for $ty {
            fn from_map<A: serde::de::MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
                $crate::domain::strict::through(map, |d| $ty::deserialize(d))
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                static FIELDS: std::sync::OnceLock<&'static [&'static str]> =
                    std::sync::OnceLock::new();
                let fields = $crate::domain::strict::fields_of(&FIELDS, |probe| {
                    $ty::deserialize(probe).map(|_| ())
                });
                d.deserialize_struct(
                    stringify!($ty),
                    fields,
                    $crate::domain::strict::ObjectVisitor::<Self>::new(stringify!($ty)),
                )
            }
        }
    };
    (@write $ty:ident) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $ty::serialize(self, s)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "PascalCase", deny_unknown_fields)]
    struct Pair {
        #[serde(default)]
        left: Option<u32>,
        right: String,
    }
    crate::objects_only!(Pair);

    #[test]
    fn an_object_is_read_and_an_array_is_refused() {
        let pair: Pair = serde_json::from_str(r#"{"Right": "r", "Left": 1}"#).unwrap();
        assert_eq!(
            pair,
            Pair {
                left: Some(1),
                right: "r".into()
            }
        );
        let e = serde_json::from_str::<Pair>(r#"[1, "r"]"#).unwrap_err();
        assert!(e.to_string().contains("expected an object (Pair)"), "{e}");
        let e = serde_json::from_str::<Pair>(r#"{"Right": "r", "Other": 1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `Other`"), "{e}");
        let e = serde_json::from_str::<Pair>(r#"{"Left": 1}"#).unwrap_err();
        assert!(e.to_string().contains("missing field `Right`"), "{e}");
        assert_eq!(
            serde_json::to_string(&pair).unwrap(),
            r#"{"Left":1,"Right":"r"}"#
        );
        assert_eq!(
            super::fields_of(&FIELDS_SEEN, |p| Pair::deserialize(p).map(|_| ())),
            ["Left", "Right"]
        );
    }

    static FIELDS_SEEN: std::sync::OnceLock<&'static [&'static str]> = std::sync::OnceLock::new();
}
