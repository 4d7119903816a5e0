//! Compare: drift between a client org and its server org, found by digests of id ranges
//! rather than by reading the records.

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::digest::{to_hex, Cutter, IdRange, RecordDigest};
use crate::domain::error::{Code, Refusal};

/// The most ranges one digest request names.
pub const MAX_RANGES: usize = 1000;
/// The largest piece a range is cut into.
pub const MAX_PIECE: u64 = 1_000_000_000;

/// The body of `POST /rest/v1/sync/{org}/CompareAsync`; every member is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CompareRequest {
    /// Only these linked entities (all inbound links when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<String>>,
    /// Then sync exactly the records that differ (per item), through the delete guard and
    /// the quarantine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<bool>,
}

/// The body of `POST /rest/v1/orgs/{org}/digests`: what a client's Compare asks of its
/// server org (the orgsync provider). Ids are ordered byte by byte.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DigestRequest {
    pub entity: String,
    /// Filters in their JSON form, by entity (only `Entity`'s is used): only the records it
    /// keeps are digested. Absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub sync_filters: Option<Value>,
    #[schema(min_items = 1, max_items = 1000)]
    pub ranges: Vec<DigestRange>,
}

/// An id range, `From` included and `To` excluded (absent: open), and what to say of it.
/// Read from an object only (every member being optional, serde would take an array too).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DigestRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Cut the range into pieces of this many records and digest each; absent: give each
    /// record's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub size: Option<u64>,
}

/// The answer of a digest request: one per range, in the order asked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Digests {
    pub ranges: Vec<RangeDigests>,
}

/// A range's pieces (when a `Size` was given) or its records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RangeDigests {
    /// In id order; each runs from its `From` to the next one's (the first from the range's
    /// start, the last to its end). An empty range is one piece of 0 records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pieces: Vec<PieceDigest>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<RecordDigestOf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PieceDigest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    pub count: u64,
    /// The XOR of its records' digests (32 hex digits).
    pub digest: String,
}

/// A record's digest: its id and attributes, whatever their key order, a number's spelling
/// or a null (32 hex digits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RecordDigestOf {
    pub id: String,
    pub digest: String,
}

/// The members of a [`DigestRange`] as its object holds them.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct RangeMembers {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    size: Option<u64>,
}

impl<'de> Deserialize<'de> for DigestRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = DigestRange;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a range object {From?, To?, Size?}")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DigestRange, A::Error> {
                let m = RangeMembers::deserialize(MapAccessDeserializer::new(map))?;
                Ok(DigestRange {
                    from: m.from,
                    to: m.to,
                    size: m.size,
                })
            }
        }
        d.deserialize_map(Object)
    }
}

impl DigestRange {
    pub fn id_range(&self) -> IdRange {
        IdRange {
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

impl DigestRequest {
    /// Refuses a request no answer can be made of: no range or too many, a range whose start
    /// is not before its end, a piece size of 0.
    pub fn check(&self) -> Result<(), Refusal> {
        if self.ranges.is_empty() || self.ranges.len() > MAX_RANGES {
            return Err(Refusal::new(
                Code::InvalidField,
                format!(
                    "Ranges holds {} ranges; 1 to {MAX_RANGES} are digested at once",
                    self.ranges.len()
                ),
            )
            .field("Ranges"));
        }
        for (i, range) in self.ranges.iter().enumerate() {
            if !range.id_range().is_ordered() {
                return Err(Refusal::new(
                    Code::InvalidField,
                    format!("range {i} starts after it ends (From must come before To)"),
                )
                .field("Ranges"));
            }
            if let Some(size) = range.size.filter(|s| !(1..=MAX_PIECE).contains(s)) {
                return Err(Refusal::new(
                    Code::InvalidField,
                    format!("range {i} has Size {size}; a piece holds 1 to {MAX_PIECE} records"),
                )
                .field("Ranges"));
            }
        }
        Ok(())
    }
}

/// A range's answer, made from its records in id order: cut into pieces, or listed.
pub enum RangeAnswer {
    Cut(Cutter),
    List(Vec<RecordDigestOf>),
}

impl RangeAnswer {
    pub fn new(range: &DigestRange) -> Self {
        match range.size {
            Some(size) => Self::Cut(Cutter::new(&range.id_range(), size)),
            None => Self::List(Vec::new()),
        }
    }

    pub fn push(&mut self, id: &str, digest: &RecordDigest) {
        match self {
            Self::Cut(cutter) => cutter.push(id, digest),
            Self::List(records) => records.push(RecordDigestOf {
                id: id.to_owned(),
                digest: to_hex(digest),
            }),
        }
    }

    pub fn finish(self) -> RangeDigests {
        match self {
            Self::Cut(cutter) => RangeDigests {
                pieces: cutter
                    .finish()
                    .into_iter()
                    .map(|p| PieceDigest {
                        from: p.from,
                        count: p.digest.count,
                        digest: to_hex(&p.digest.xor),
                    })
                    .collect(),
                records: Vec::new(),
            },
            Self::List(records) => RangeDigests {
                pieces: Vec::new(),
                records,
            },
        }
    }
}
