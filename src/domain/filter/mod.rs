//! Sync filters: which records of an entity a sync carries. A filter is a subset of FetchXML, given
//! either as an XML document (`SyncFiltersXml`) or as a JSON object (`SyncFilters`); both parse to
//! the same [`SyncFilters`], which [`SyncFilters::validate`] checks against the org's metadata and
//! turns into [`ValidFilters`], the only form that can be evaluated against a record or stored.
//!
//! XML form:
//!
//! ```xml
//! <SyncFilters>
//!   <Entity name="account">
//!     <filter type="and">
//!       <condition attribute="statecode" operator="eq" value="0"/>
//!       <condition attribute="industrycode" operator="in"><value>1</value><value>7</value></condition>
//!       <filter type="or">
//!         <condition attribute="name" operator="like" value="Contoso%"/>
//!         <condition attribute="modifiedon" operator="last-x-days" value="30"/>
//!       </filter>
//!     </filter>
//!   </Entity>
//! </SyncFilters>
//! ```
//!
//! JSON form:
//!
//! ```json
//! {"account": {"Type": "and",
//!              "Conditions": [{"Attribute": "statecode", "Operator": "eq", "Value": 0},
//!                             {"Attribute": "industrycode", "Operator": "in", "Values": [1, 7]}],
//!              "Filters": [{"Type": "or", "Conditions": [], "Filters": []}]}}
//! ```
//!
//! Both forms are strict: an unknown element, attribute or key is an error, never ignored.

// The submodules, by responsibility: `caps` bounds what a filter may ask for, `error` builds the errors, `xml` and `json` parse the two
// forms and write the canonical ones, `validate` types a filter against the metadata and
// normalizes its values (with the parsers of `values`), `eval` compiles a validated filter and runs it on records.
mod caps;
mod error;
mod eval;
mod explain;
mod json;
#[cfg(test)]
mod tests;
mod validate;
mod values;
mod xml;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::metadata::AttributeType;
use error::{shorten, unknown_operator, Ctx};
use eval::Compiled;
pub use explain::Failed;

pub use caps::{MAX_CONDITIONS, MAX_VALUES, MAX_VALUE_CHARS};

/// How deep filters may nest: the filter of an entity is at depth 1.
pub const MAX_FILTER_DEPTH: usize = 16;

/// The problem code of every [`FilterError`].
pub const INVALID_FILTER: &str = "invalid_filter";

/// Why a filter was refused, with the entity, attribute and operator at fault when known.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct FilterError {
    /// Always [`INVALID_FILTER`].
    pub code: &'static str,
    pub entity: Option<String>,
    pub attribute: Option<String>,
    pub operator: Option<String>,
    /// A sentence naming the entity, attribute and operator at fault when they are known.
    pub message: String,
}

/// How the conditions and sub-filters of a filter combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FilterType {
    #[default]
    And,
    Or,
}

impl FilterType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::And => "and",
            Self::Or => "or",
        }
    }
}

impl fmt::Display for FilterType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FilterType {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "and" => Ok(Self::And),
            "or" => Ok(Self::Or),
            other => Err(Ctx::default().fail(format_args!(
                "filter type '{}' is not valid; expected 'and' or 'or'",
                shorten(other)
            ))),
        }
    }
}

/// A condition's operator; the wire names are those of FetchXML (`eq`, `not-like`, `last-x-days`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `eq`: equal (text case-insensitively, ids exactly, numbers numerically, instants exactly).
    Eq,
    /// `ne`: has a value that is not equal.
    Ne,
    /// `gt`: greater than (text by case-insensitive code point order).
    Gt,
    /// `ge`: greater than or equal.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal.
    Le,
    /// `like`: SQL LIKE, case-insensitive: `%` any run of characters, `_` one character; no
    /// escapes, and `[`…`]` is literal.
    Like,
    /// `not-like`: has a value that is not `like` the pattern.
    NotLike,
    /// `begins-with`: case-insensitive prefix, taken literally (no wildcards).
    BeginsWith,
    /// `ends-with`: case-insensitive suffix, taken literally (no wildcards).
    EndsWith,
    /// `in`: equal to one of the values (at least one).
    In,
    /// `not-in`: has a value equal to none of the values.
    NotIn,
    /// `null`: no value (absent key or JSON null). Takes no value.
    Null,
    /// `not-null`: has a value. Takes no value.
    NotNull,
    /// `between a b`: `a ≤ value ≤ b`.
    Between,
    /// `not-between a b`: has a value outside `a ≤ value ≤ b`.
    NotBetween,
    /// `on d`: the value's UTC date is `d`.
    On,
    /// `on-or-after d`: the value's UTC date is `d` or later.
    OnOrAfter,
    /// `on-or-before d`: the value's UTC date is `d` or earlier.
    OnOrBefore,
    /// `last-x-hours N`: `now - N hours ≤ value ≤ now` (a `Date` counts as its midnight UTC).
    LastXHours,
    /// `last-x-days N`: `start of (today - N days) ≤ value ≤ now`, with `today` the UTC date of
    /// `now` and days starting at midnight UTC. On a `Date`: `today - N ≤ date ≤ today`.
    LastXDays,
    /// `next-x-days N`: `now ≤ value ≤ end of (today + N days)`, i.e. the value's UTC date is at
    /// most `today + N`. On a `Date`: `today ≤ date ≤ today + N`.
    NextXDays,
    /// `older-x-days N`: `value < start of (today - N days)`, i.e. the value's UTC date is before
    /// `today - N`. On a `Date` the same: `date < today - N`.
    OlderXDays,
}

/// How many values an operator takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arity {
    None,
    One,
    Two,
    AtLeastOne,
}

impl Operator {
    /// Every operator, in wire-contract order.
    pub const ALL: [Operator; 23] = [
        Self::Eq,
        Self::Ne,
        Self::Gt,
        Self::Ge,
        Self::Lt,
        Self::Le,
        Self::Like,
        Self::NotLike,
        Self::BeginsWith,
        Self::EndsWith,
        Self::In,
        Self::NotIn,
        Self::Null,
        Self::NotNull,
        Self::Between,
        Self::NotBetween,
        Self::On,
        Self::OnOrAfter,
        Self::OnOrBefore,
        Self::LastXHours,
        Self::LastXDays,
        Self::NextXDays,
        Self::OlderXDays,
    ];

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
            Self::Like => "like",
            Self::NotLike => "not-like",
            Self::BeginsWith => "begins-with",
            Self::EndsWith => "ends-with",
            Self::In => "in",
            Self::NotIn => "not-in",
            Self::Null => "null",
            Self::NotNull => "not-null",
            Self::Between => "between",
            Self::NotBetween => "not-between",
            Self::On => "on",
            Self::OnOrAfter => "on-or-after",
            Self::OnOrBefore => "on-or-before",
            Self::LastXHours => "last-x-hours",
            Self::LastXDays => "last-x-days",
            Self::NextXDays => "next-x-days",
            Self::OlderXDays => "older-x-days",
        }
    }

    fn arity(self) -> Arity {
        match self {
            Self::Null | Self::NotNull => Arity::None,
            Self::Between | Self::NotBetween => Arity::Two,
            Self::In | Self::NotIn => Arity::AtLeastOne,
            _ => Arity::One,
        }
    }

    /// Whether the operator takes a list of values (`<value>` children in XML, `Values` in JSON):
    /// `in`, `not-in`, `between`, `not-between`.
    pub fn takes_list(&self) -> bool {
        matches!(self.arity(), Arity::Two | Arity::AtLeastOne)
    }

    /// Whether the operator may be used on an attribute of this type:
    /// - `eq`, `ne`, `in`, `not-in`, `null`, `not-null`: every type;
    /// - `like`, `not-like`, `begins-with`, `ends-with`: `String`, `Memo`;
    /// - `gt`, `ge`, `lt`, `le`: `String`, `Memo`, `Integer`, `Decimal`, `Money`, `DateTime`, `Date`;
    /// - `between`, `not-between`: `Integer`, `Decimal`, `Money`, `DateTime`, `Date`;
    /// - `on`, `on-or-after`, `on-or-before` and the `…-x-…` operators: `DateTime`, `Date`.
    ///
    /// A `Picklist` is not ordered: its values are codes, so neither ordering nor range
    /// operators apply to it.
    pub fn applies_to(&self, kind: AttributeType) -> bool {
        use AttributeType as T;
        let ordered_number = matches!(kind, T::Integer | T::Decimal | T::Money);
        match self {
            Self::Eq | Self::Ne | Self::In | Self::NotIn | Self::Null | Self::NotNull => true,
            Self::Like | Self::NotLike | Self::BeginsWith | Self::EndsWith => kind.is_text(),
            Self::Gt | Self::Ge | Self::Lt | Self::Le => {
                kind.is_text() || ordered_number || kind.is_temporal()
            }
            Self::Between | Self::NotBetween => ordered_number || kind.is_temporal(),
            Self::On
            | Self::OnOrAfter
            | Self::OnOrBefore
            | Self::LastXHours
            | Self::LastXDays
            | Self::NextXDays
            | Self::OlderXDays => kind.is_temporal(),
        }
    }

    fn is_on_date(self) -> bool {
        matches!(self, Self::On | Self::OnOrAfter | Self::OnOrBefore)
    }

    fn is_relative(self) -> bool {
        matches!(
            self,
            Self::LastXHours | Self::LastXDays | Self::NextXDays | Self::OlderXDays
        )
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Operator {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| {
                let mut error = Ctx::default().fail(unknown_operator(s));
                error.operator = Some(s.to_owned());
                error
            })
    }
}

/// One test of an attribute. Before validation `values` are as given (text from XML, JSON scalars
/// from JSON); after validation they are in the normalized form of the attribute's type (see
/// [`SyncFilters::validate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub attribute: String,
    pub operator: Operator,
    pub values: Vec<Value>,
}

/// Conditions and nested filters combined by `kind`. An empty filter matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub kind: FilterType,
    pub conditions: Vec<Condition>,
    pub filters: Vec<Filter>,
}

/// Filters per entity, unchecked (as parsed) — parse then validate.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncFilters {
    pub entities: BTreeMap<String, Filter>,
}

/// Filters proven to fit the metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValidFilters {
    entities: BTreeMap<String, ValidEntity>,
}

#[derive(Debug, Clone, PartialEq)]
struct ValidEntity {
    /// The normalized filter, as shown and stored.
    filter: Filter,
    /// The same filter ready to evaluate: typed values, lowercased text, parsed patterns.
    compiled: Compiled,
}

impl ValidFilters {
    /// The normalized filter of an entity, if it has one.
    pub fn filter_for(&self, entity: &str) -> Option<&Filter> {
        self.entities.get(entity).map(|e| &e.filter)
    }

    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }
}
