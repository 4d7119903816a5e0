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

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, SecondsFormat, TimeDelta, Utc};
use quick_xml::escape::EscapeError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde_json::{Map, Value};

use super::metadata::{AttributeType, EntityDef};
use super::names::RecordId;

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

/// Where in the filters a problem is: builds the [`FilterError`]s.
#[derive(Debug, Clone, Copy, Default)]
struct Ctx<'a> {
    entity: Option<&'a str>,
    attribute: Option<&'a str>,
    operator: Option<&'a str>,
}

impl<'a> Ctx<'a> {
    fn entity(entity: &'a str) -> Self {
        Self {
            entity: Some(entity),
            ..Self::default()
        }
    }

    fn condition(entity: &'a str, attribute: &'a str, operator: Option<&'a str>) -> Self {
        Self {
            entity: Some(entity),
            attribute: Some(attribute),
            operator,
        }
    }

    /// The error, its message prefixed by the entity, and by the condition when the detail does
    /// not already name its attribute and operator.
    fn fail(&self, detail: impl fmt::Display) -> FilterError {
        let detail = detail.to_string();
        let mut message = match self.entity {
            Some(entity) => format!("filter of entity '{entity}': "),
            None => "sync filters: ".to_owned(),
        };
        if let Some(attribute) = self.attribute {
            let named = |name: &str| detail.contains(&format!("'{name}'"));
            let operator_named = match self.operator {
                Some(operator) => named(operator),
                None => true,
            };
            if !named(attribute) || !operator_named {
                let _ = write!(message, "condition on attribute '{attribute}'");
                if let Some(operator) = self.operator {
                    let _ = write!(message, " (operator '{operator}')");
                }
                message.push_str(": ");
            }
        }
        message.push_str(&detail);
        FilterError {
            code: INVALID_FILTER,
            entity: self.entity.map(str::to_owned),
            attribute: self.attribute.map(str::to_owned),
            operator: self.operator.map(str::to_owned),
            message,
        }
    }
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

fn unknown_operator(s: &str) -> String {
    let known: Vec<&str> = Operator::ALL.iter().map(Operator::as_str).collect();
    format!(
        "unknown operator '{}'; expected one of {}",
        shorten(s),
        known.join(", ")
    )
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

// ---------------------------------------------------------------------------------------------
// XML form
// ---------------------------------------------------------------------------------------------

impl SyncFilters {
    /// Parses the XML form: a `<SyncFilters>` root holding one `<Entity name="…">` per filtered
    /// entity, each holding exactly one `<filter>`. Unknown elements or attributes, text outside
    /// `<value>`, a DOCTYPE, entity references other than the five predefined ones, a second
    /// `<Entity>` of the same name and filters nested deeper than [`MAX_FILTER_DEPTH`] are errors.
    /// Comments and an XML declaration are allowed.
    pub fn parse_xml(text: &str) -> Result<Self, FilterError> {
        let mut parser = XmlParser::new(text);
        let root = loop {
            match parser.next()? {
                Event::Decl(_) | Event::Comment(_) => {}
                Event::Text(t) if is_blank(&t) => {}
                Event::Start(e) => break e,
                Event::Eof => return Err(Ctx::default().fail("the XML document is empty")),
                other => XmlParser::misplaced(other, Ctx::default(), "the document")?,
            }
        };
        let name = element_name(&root);
        if name != "SyncFilters" {
            return Err(Ctx::default().fail(format_args!(
                "unknown root element <{}>; expected <SyncFilters>",
                shorten(&name)
            )));
        }
        parser.attributes(&root, "SyncFilters", &[], Ctx::default())?;
        let mut entities = BTreeMap::new();
        loop {
            match parser.next()? {
                Event::Start(e) => {
                    let name = element_name(&e);
                    if name != "Entity" {
                        return Err(Ctx::default().fail(format_args!(
                            "unknown element <{}> in <SyncFilters>; expected <Entity>",
                            shorten(&name)
                        )));
                    }
                    let mut attrs = parser.attributes(&e, "Entity", &["name"], Ctx::default())?;
                    let entity = attrs.remove("name").unwrap_or_default();
                    if entity.is_empty() {
                        return Err(Ctx::default()
                            .fail("an <Entity> element needs a non-empty 'name' attribute"));
                    }
                    if entities.contains_key(&entity) {
                        return Err(Ctx::entity(&entity)
                            .fail("the entity appears in more than one <Entity> element"));
                    }
                    let filter = parser.entity_body(&entity)?;
                    entities.insert(entity, filter);
                }
                Event::End(_) => break,
                other => XmlParser::misplaced(other, Ctx::default(), "<SyncFilters>")?,
            }
        }
        loop {
            match parser.next()? {
                Event::Eof => break,
                Event::Comment(_) => {}
                Event::Text(t) if is_blank(&t) => {}
                other => XmlParser::misplaced(
                    other,
                    Ctx::default(),
                    "the document after </SyncFilters>",
                )?,
            }
        }
        Ok(Self { entities })
    }
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

fn element_name(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.name().as_ref()).into_owned()
}

struct XmlParser<'a> {
    reader: Reader<&'a [u8]>,
}

impl<'a> XmlParser<'a> {
    fn new(text: &'a str) -> Self {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.check_comments = true;
        Self { reader }
    }

    /// Malformed XML inside an element whose start tag was read well.
    fn malformed(element: &str, error: impl fmt::Display, ctx: Ctx<'_>) -> FilterError {
        ctx.fail(format_args!("malformed XML in <{element}>: {error}"))
    }

    fn next(&mut self) -> Result<Event<'a>, FilterError> {
        match self.reader.read_event() {
            Ok(event) => Ok(event),
            Err(error) => {
                let at = self.reader.error_position();
                Err(Ctx::default().fail(format_args!("malformed XML at byte {at}: {error}")))
            }
        }
    }

    /// An event that has no place where it occurs: blank text and comments are skipped,
    /// everything else is an error naming the place.
    fn misplaced(event: Event<'_>, ctx: Ctx<'_>, place: &str) -> Result<(), FilterError> {
        match event {
            Event::Comment(_) => Ok(()),
            Event::Text(t) if is_blank(&t) => Ok(()),
            Event::DocType(_) => Err(ctx.fail("a DOCTYPE declaration is not allowed")),
            Event::Eof => Err(ctx.fail(format_args!(
                "malformed XML: the document ends inside {place}"
            ))),
            Event::Text(t) => Err(ctx.fail(format_args!(
                "unexpected text '{}' in {place}",
                shorten(String::from_utf8_lossy(&t).trim())
            ))),
            Event::CData(_) => Err(ctx.fail(format_args!("unexpected CDATA section in {place}"))),
            Event::PI(_) => {
                Err(ctx.fail(format_args!("unexpected processing instruction in {place}")))
            }
            Event::Decl(_) => Err(ctx.fail(format_args!("unexpected XML declaration in {place}"))),
            Event::Start(e) => Err(ctx.fail(format_args!(
                "unknown element <{}> in {place}",
                shorten(&element_name(&e))
            ))),
            Event::Empty(e) => Err(ctx.fail(format_args!(
                "unknown element <{}> in {place}",
                shorten(&element_name(&e))
            ))),
            Event::End(e) => Err(ctx.fail(format_args!(
                "unexpected end tag </{}> in {place}",
                shorten(&String::from_utf8_lossy(e.name().as_ref()))
            ))),
        }
    }

    /// The attributes of an element, all of which must be in `allowed`.
    fn attributes(
        &self,
        e: &BytesStart<'_>,
        element: &str,
        allowed: &[&str],
        ctx: Ctx<'_>,
    ) -> Result<BTreeMap<String, String>, FilterError> {
        let mut found = BTreeMap::new();
        for attr in e.attributes() {
            let attr = attr.map_err(|error| Self::malformed(element, error, ctx))?;
            let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
            if !allowed.contains(&key.as_str()) {
                let expected = if allowed.is_empty() {
                    "it takes none".to_owned()
                } else {
                    format!("expected {}", allowed.join(", "))
                };
                return Err(ctx.fail(format_args!(
                    "unknown attribute '{}' on <{element}>; {expected}",
                    shorten(&key)
                )));
            }
            let value = attr
                .unescape_value()
                .map_err(|error| Self::unescape_error(element, error, ctx))?;
            found.insert(key, value.into_owned());
        }
        Ok(found)
    }

    fn unescape_error(element: &str, error: quick_xml::Error, ctx: Ctx<'_>) -> FilterError {
        match error {
            quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
                ctx.fail(format_args!(
                    "the entity reference '&{};' is not allowed; only &lt; &gt; &amp; &quot; \
                     &apos; and character references are",
                    shorten(&name)
                ))
            }
            other => Self::malformed(element, other, ctx),
        }
    }

    /// The inside of `<Entity>`: exactly one `<filter>`.
    fn entity_body(&mut self, entity: &str) -> Result<Filter, FilterError> {
        let ctx = Ctx::entity(entity);
        let mut filter = None;
        loop {
            match self.next()? {
                Event::Start(e) if e.name().as_ref() == b"filter" => {
                    if filter.is_some() {
                        return Err(ctx.fail("<Entity> must hold exactly one <filter>, not more"));
                    }
                    filter = Some(self.filter(&e, entity, 1)?);
                }
                Event::End(_) => {
                    return filter.ok_or_else(|| {
                        ctx.fail("<Entity> must hold exactly one <filter>, it has none")
                    });
                }
                other => Self::misplaced(other, ctx, "<Entity>")?,
            }
        }
    }

    /// A `<filter>` whose start tag was just read.
    fn filter(
        &mut self,
        start: &BytesStart<'_>,
        entity: &str,
        depth: usize,
    ) -> Result<Filter, FilterError> {
        let ctx = Ctx::entity(entity);
        if depth > MAX_FILTER_DEPTH {
            return Err(too_deep(ctx));
        }
        let attrs = self.attributes(start, "filter", &["type"], ctx)?;
        let kind = match attrs.get("type") {
            None => FilterType::And,
            Some(t) => t.parse().map_err(|e: FilterError| ctx.fail(e.detail()))?,
        };
        let mut filter = Filter {
            kind,
            ..Filter::default()
        };
        loop {
            match self.next()? {
                Event::Start(e) if e.name().as_ref() == b"filter" => {
                    filter.filters.push(self.filter(&e, entity, depth + 1)?);
                }
                Event::Start(e) if e.name().as_ref() == b"condition" => {
                    filter.conditions.push(self.condition(&e, entity)?);
                }
                Event::End(_) => return Ok(filter),
                other => Self::misplaced(other, ctx, "<filter>")?,
            }
        }
    }

    /// A `<condition>` whose start tag was just read.
    fn condition(
        &mut self,
        start: &BytesStart<'_>,
        entity: &str,
    ) -> Result<Condition, FilterError> {
        let ctx = Ctx::entity(entity);
        let mut attrs =
            self.attributes(start, "condition", &["attribute", "operator", "value"], ctx)?;
        let attribute = match attrs.remove("attribute") {
            Some(a) if !a.is_empty() => a,
            _ => {
                return Err(ctx.fail("a <condition> needs a non-empty 'attribute' attribute"));
            }
        };
        let Some(operator) = attrs.remove("operator") else {
            return Err(Ctx::condition(entity, &attribute, None).fail(format_args!(
                "the condition on attribute '{attribute}' needs an 'operator' attribute"
            )));
        };
        let operator = parse_operator(&operator, entity, &attribute)?;
        let ctx = Ctx::condition(entity, &attribute, Some(operator.as_str()));
        let mut values: Vec<Value> = attrs
            .remove("value")
            .map(Value::String)
            .into_iter()
            .collect();
        let from_attribute = !values.is_empty();
        loop {
            match self.next()? {
                Event::Start(e) if e.name().as_ref() == b"value" => {
                    if from_attribute {
                        return Err(ctx.fail(format_args!(
                            "the condition on attribute '{attribute}' (operator '{operator}') \
                             has both a 'value' attribute and <value> elements"
                        )));
                    }
                    if !operator.takes_list() {
                        return Err(ctx.fail(format_args!(
                            "operator '{operator}' on attribute '{attribute}' takes its value in \
                             the 'value' attribute; <value> elements are only for in, not-in, \
                             between and not-between"
                        )));
                    }
                    self.attributes(&e, "value", &[], ctx)?;
                    values.push(Value::String(self.value_text(ctx)?));
                }
                Event::End(_) => break,
                other => Self::misplaced(other, ctx, "<condition>")?,
            }
        }
        Ok(Condition {
            attribute,
            operator,
            values,
        })
    }

    /// The text of a `<value>` whose start tag was just read, up to its end tag.
    fn value_text(&mut self, ctx: Ctx<'_>) -> Result<String, FilterError> {
        let mut text = String::new();
        loop {
            match self.next()? {
                Event::Text(t) => {
                    let unescaped = t
                        .unescape()
                        .map_err(|e| Self::unescape_error("value", e, ctx))?;
                    text.push_str(&unescaped);
                }
                Event::CData(c) => {
                    let raw = c.decode().map_err(|e| Self::malformed("value", e, ctx))?;
                    text.push_str(&raw);
                }
                Event::Comment(_) => {}
                Event::End(_) => return Ok(text),
                other => Self::misplaced(other, ctx, "<value>")?,
            }
        }
    }
}

impl FilterError {
    /// The message without its "filter of entity …: " prefix, to re-home it in another context.
    fn detail(&self) -> &str {
        self.message
            .split_once(": ")
            .map_or(self.message.as_str(), |(_, rest)| rest)
    }
}

fn parse_operator(operator: &str, entity: &str, attribute: &str) -> Result<Operator, FilterError> {
    operator.parse().map_err(|_| {
        Ctx::condition(entity, attribute, Some(operator)).fail(format_args!(
            "the condition on attribute '{attribute}' has an {}",
            unknown_operator(operator)
        ))
    })
}

fn too_deep(ctx: Ctx<'_>) -> FilterError {
    ctx.fail(format_args!(
        "filters are nested more than {MAX_FILTER_DEPTH} levels deep"
    ))
}

/// A value or name for a message: at most 60 characters.
fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

// ---------------------------------------------------------------------------------------------
// JSON form
// ---------------------------------------------------------------------------------------------

impl SyncFilters {
    /// Parses the JSON form: an object mapping entity names to filters. A filter has the keys
    /// `Type` (`"and"`, the default, or `"or"`), `Conditions` and `Filters`, all optional; a
    /// condition has `Attribute`, `Operator`, and `Value` (a number, string or boolean) or
    /// `Values` (an array of them, for in, not-in, between, not-between), or neither. A `null`
    /// member counts as absent. Unknown keys are errors.
    pub fn from_json(value: &Value) -> Result<Self, FilterError> {
        let Some(object) = value.as_object() else {
            return Err(Ctx::default()
                .fail("SyncFilters must be a JSON object mapping entity names to filters"));
        };
        let mut entities = BTreeMap::new();
        for (entity, filter) in object {
            if entity.is_empty() {
                return Err(Ctx::default().fail("an entity name in SyncFilters is empty"));
            }
            entities.insert(entity.clone(), json_filter(filter, entity, 1)?);
        }
        Ok(Self { entities })
    }
}

fn present<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).filter(|v| !v.is_null())
}

fn json_filter(value: &Value, entity: &str, depth: usize) -> Result<Filter, FilterError> {
    let ctx = Ctx::entity(entity);
    if depth > MAX_FILTER_DEPTH {
        return Err(too_deep(ctx));
    }
    let Some(object) = value.as_object() else {
        return Err(ctx.fail("a filter must be a JSON object with Type, Conditions and Filters"));
    };
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "Type" | "Conditions" | "Filters"))
    {
        return Err(ctx.fail(format_args!(
            "unknown key '{}' in a filter; expected Type, Conditions, Filters",
            shorten(key)
        )));
    }
    let kind = match present(object, "Type") {
        None => FilterType::And,
        Some(Value::String(t)) => t.parse().map_err(|e: FilterError| ctx.fail(e.detail()))?,
        Some(_) => return Err(ctx.fail("a filter's Type must be the string 'and' or 'or'")),
    };
    let conditions = match present(object, "Conditions") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|c| json_condition(c, entity))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ctx.fail("a filter's Conditions must be an array")),
    };
    let filters = match present(object, "Filters") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|f| json_filter(f, entity, depth + 1))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ctx.fail("a filter's Filters must be an array of filters")),
    };
    Ok(Filter {
        kind,
        conditions,
        filters,
    })
}

fn json_condition(value: &Value, entity: &str) -> Result<Condition, FilterError> {
    let ctx = Ctx::entity(entity);
    let Some(object) = value.as_object() else {
        return Err(ctx.fail(
            "a condition must be a JSON object with Attribute, Operator and Value or Values",
        ));
    };
    let attribute = match present(object, "Attribute") {
        Some(Value::String(a)) if !a.is_empty() => a.clone(),
        _ => return Err(ctx.fail("a condition needs an Attribute, a non-empty string")),
    };
    let operator = match present(object, "Operator") {
        Some(Value::String(op)) => parse_operator(op, entity, &attribute)?,
        _ => {
            return Err(Ctx::condition(entity, &attribute, None).fail(format_args!(
                "the condition on attribute '{attribute}' needs an Operator, a string"
            )));
        }
    };
    let ctx = Ctx::condition(entity, &attribute, Some(operator.as_str()));
    let about = format!("the condition on attribute '{attribute}' (operator '{operator}')");
    if let Some(key) = object
        .keys()
        .find(|k| !matches!(k.as_str(), "Attribute" | "Operator" | "Value" | "Values"))
    {
        return Err(ctx.fail(format_args!(
            "unknown key '{}' in {about}; expected Attribute, Operator, Value, Values",
            shorten(key)
        )));
    }
    let scalar = |v: &Value, key: &str| match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(v.clone()),
        _ => Err(ctx.fail(format_args!(
            "{about}: {key} must be a number, a string or a boolean"
        ))),
    };
    let values = match (present(object, "Value"), present(object, "Values")) {
        (Some(_), Some(_)) => {
            return Err(ctx.fail(format_args!("{about} has both Value and Values")));
        }
        (None, None) => Vec::new(),
        (Some(Value::Array(_)), None) => {
            return Err(ctx.fail(format_args!(
                "{about}: Value must be a single number, string or boolean; a list goes in Values"
            )));
        }
        (Some(v), None) => vec![scalar(v, "Value")?],
        (None, Some(Value::Array(items))) => {
            if !operator.takes_list() {
                return Err(ctx.fail(format_args!(
                    "{about}: operator '{operator}' takes a single Value; Values are only for \
                     in, not-in, between and not-between"
                )));
            }
            items
                .iter()
                .map(|v| scalar(v, "each of Values"))
                .collect::<Result<_, _>>()?
        }
        (None, Some(_)) => {
            return Err(ctx.fail(format_args!("{about}: Values must be an array")));
        }
    };
    Ok(Condition {
        attribute,
        operator,
        values,
    })
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

impl SyncFilters {
    /// Checks every entity, attribute, operator and value against the metadata and normalizes
    /// the values.
    ///
    /// Each value must parse as the attribute's type and is normalized to its JSON form:
    /// `Integer`, `Picklist` → integer (a `Picklist` value must be one of its options);
    /// `Decimal`, `Money` → float; `Boolean` → `true`/`false` (from `true`, `false`, `1`, `0`);
    /// `DateTime` → RFC 3339 UTC string (a `YYYY-MM-DD` date means midnight UTC);
    /// `Date` → `YYYY-MM-DD`; `Uniqueidentifier` → lowercase hyphenated UUID; `Lookup` → the
    /// record id (a UUID in lowercase); `String`, `Memo` → the string as given. The values of
    /// `on`, `on-or-after`, `on-or-before` are dates (`YYYY-MM-DD`, or a datetime whose UTC date
    /// is taken); those of the `…-x-…` operators are positive integers. Text values (all of XML's)
    /// are trimmed before parsing as a non-text type; JSON values may be of the type's JSON kind
    /// or a string that parses.
    pub fn validate<'m>(
        self,
        lookup: &dyn Fn(&str) -> Option<&'m EntityDef>,
    ) -> Result<ValidFilters, FilterError> {
        let mut entities = BTreeMap::new();
        for (entity, filter) in self.entities {
            let Some(def) = lookup(&entity) else {
                return Err(Ctx::entity(&entity).fail(format_args!(
                    "there is no entity '{entity}' in the metadata"
                )));
            };
            let (filter, compiled) = check_filter(filter, def, &entity, 1)?;
            entities.insert(entity, ValidEntity { filter, compiled });
        }
        Ok(ValidFilters { entities })
    }
}

fn check_filter(
    filter: Filter,
    def: &EntityDef,
    entity: &str,
    depth: usize,
) -> Result<(Filter, Compiled), FilterError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(too_deep(Ctx::entity(entity)));
    }
    let mut conditions = Vec::with_capacity(filter.conditions.len());
    let mut checks = Vec::with_capacity(filter.conditions.len());
    for condition in filter.conditions {
        let (condition, check) = check_condition(condition, def, entity)?;
        conditions.push(condition);
        checks.push(check);
    }
    let mut filters = Vec::with_capacity(filter.filters.len());
    let mut compiled = Vec::with_capacity(filter.filters.len());
    for sub in filter.filters {
        let (sub, sub_compiled) = check_filter(sub, def, entity, depth + 1)?;
        filters.push(sub);
        compiled.push(sub_compiled);
    }
    Ok((
        Filter {
            kind: filter.kind,
            conditions,
            filters,
        },
        Compiled {
            kind: filter.kind,
            checks,
            filters: compiled,
        },
    ))
}

fn check_condition(
    condition: Condition,
    def: &EntityDef,
    entity: &str,
) -> Result<(Condition, Check), FilterError> {
    let Condition {
        attribute,
        operator: op,
        values,
    } = condition;
    let ctx = Ctx::condition(entity, &attribute, Some(op.as_str()));
    let Some(kind) = def.filterable_type(&attribute) else {
        return Err(ctx.fail(format_args!(
            "attribute '{attribute}' (operator '{op}') is not an attribute of the entity"
        )));
    };
    if !op.applies_to(kind) {
        return Err(ctx.fail(format_args!(
            "operator '{op}' cannot be used on attribute '{attribute}' of type {kind:?}"
        )));
    }
    let count = values.len();
    let wanted = match op.arity() {
        Arity::None if count != 0 => Some("no value"),
        Arity::One if count != 1 => Some("exactly one value"),
        Arity::Two if count != 2 => Some("exactly 2 values"),
        Arity::AtLeastOne if count == 0 => Some("at least one value"),
        _ => None,
    };
    if let Some(wanted) = wanted {
        return Err(ctx.fail(format_args!(
            "operator '{op}' on attribute '{attribute}' takes {wanted}, got {count}"
        )));
    }
    let options: Option<Vec<i64>> = def
        .attribute(&attribute)
        .and_then(|a| a.options.as_ref())
        .map(|o| o.iter().map(|o| o.value).collect());
    let values = values
        .iter()
        .map(|v| normalize(kind, op, v, options.as_deref(), &attribute, &ctx))
        .collect::<Result<Vec<_>, _>>()?;
    let test = compile_test(kind, op, &values, &ctx)?;
    Ok((
        Condition {
            attribute: attribute.clone(),
            operator: op,
            values,
        },
        Check {
            attribute,
            kind,
            test,
        },
    ))
}

/// A filter value for a message.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{}'", shorten(s)),
        other => shorten(&other.to_string()),
    }
}

/// One value of a condition, checked and put in the normalized form of the attribute's type.
fn normalize(
    kind: AttributeType,
    op: Operator,
    raw: &Value,
    options: Option<&[i64]>,
    attribute: &str,
    ctx: &Ctx<'_>,
) -> Result<Value, FilterError> {
    use AttributeType as T;
    let bad = |expected: &str| {
        ctx.fail(format_args!(
            "value {} for attribute '{attribute}' (operator '{op}') is not {expected}",
            show(raw)
        ))
    };
    let text = match raw {
        Value::String(s) => Some(s.trim()),
        Value::Number(_) | Value::Bool(_) => None,
        _ => return Err(bad("a number, a string or a boolean")),
    };
    if op.is_on_date() {
        let date = text
            .and_then(|t| parse_date(t).or_else(|| parse_datetime(t).map(|d| d.date_naive())))
            .ok_or_else(|| bad("a date (YYYY-MM-DD) or an RFC 3339 datetime"))?;
        return Ok(Value::String(format_date(date)));
    }
    if op.is_relative() {
        let n = match raw {
            Value::Number(n) => n.as_i64(),
            _ => text.and_then(|t| t.parse::<i64>().ok()),
        };
        return match n {
            Some(n) if n > 0 => Ok(Value::from(n)),
            _ => Err(bad("a positive whole number")),
        };
    }
    match kind {
        T::String | T::Memo => {
            let s = match raw {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if s.contains('\0') {
                return Err(bad("valid text (it contains a NUL character)"));
            }
            Ok(Value::String(s))
        }
        T::Integer | T::Picklist => {
            let n = match raw {
                Value::Number(n) => n.as_i64(),
                _ => text.and_then(|t| t.parse::<i64>().ok()),
            }
            .ok_or_else(|| bad(&format!("a valid {kind:?} (a whole number)")))?;
            if let Some(options) = options {
                if !options.contains(&n) {
                    let list: Vec<String> = options.iter().map(i64::to_string).collect();
                    return Err(bad(&format!("one of the options ({})", list.join(", "))));
                }
            }
            Ok(Value::from(n))
        }
        T::Decimal | T::Money => {
            let f = match raw {
                Value::Number(n) => n.as_f64(),
                _ => text.and_then(|t| t.parse::<f64>().ok()),
            }
            .filter(|f| f.is_finite())
            .ok_or_else(|| bad(&format!("a valid {kind:?} (a finite number)")))?;
            Ok(Value::from(f))
        }
        T::Boolean => {
            let b = match raw {
                Value::Bool(b) => Some(*b),
                Value::Number(n) => match n.as_i64() {
                    Some(0) => Some(false),
                    Some(1) => Some(true),
                    _ => None,
                },
                _ => text.and_then(parse_bool),
            }
            .ok_or_else(|| bad("a valid Boolean (true, false, 1 or 0)"))?;
            Ok(Value::Bool(b))
        }
        T::DateTime => {
            let instant = text
                .and_then(parse_instant)
                .ok_or_else(|| bad("a valid DateTime (RFC 3339, or a date YYYY-MM-DD)"))?;
            Ok(Value::String(format_instant(instant)))
        }
        T::Date => {
            let date = text
                .and_then(parse_date)
                .ok_or_else(|| bad("a valid Date (YYYY-MM-DD)"))?;
            Ok(Value::String(format_date(date)))
        }
        T::Uniqueidentifier => {
            let id = text
                .and_then(|t| uuid::Uuid::parse_str(t).ok())
                .ok_or_else(|| bad("a valid Uniqueidentifier (a UUID)"))?;
            Ok(Value::String(id.hyphenated().to_string()))
        }
        T::Lookup => {
            let id = text
                .and_then(|t| RecordId::parse(t).ok())
                .ok_or_else(|| bad("a valid Lookup (a record id)"))?;
            Ok(Value::String(id.into()))
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A date written exactly `YYYY-MM-DD`.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// An RFC 3339 datetime, or a date meaning midnight UTC.
fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    parse_date(text)
        .map(midnight)
        .or_else(|| parse_datetime(text))
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn format_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/// A filter ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
struct Compiled {
    kind: FilterType,
    checks: Vec<Check>,
    filters: Vec<Compiled>,
}

#[derive(Debug, Clone, PartialEq)]
struct Check {
    attribute: String,
    kind: AttributeType,
    test: Test,
}

#[derive(Debug, Clone, PartialEq)]
enum Test {
    Null,
    NotNull,
    /// eq, ne, gt, ge, lt, le.
    Compare(Operator, Scalar),
    In {
        values: Vec<Scalar>,
        negated: bool,
    },
    Between {
        low: Scalar,
        high: Scalar,
        negated: bool,
    },
    Like {
        pattern: Vec<LikeToken>,
        negated: bool,
    },
    /// Lowercase prefix.
    BeginsWith(String),
    /// Lowercase suffix.
    EndsWith(String),
    /// on, on-or-after, on-or-before.
    OnDate(Operator, NaiveDate),
    /// last-x-hours, last-x-days, next-x-days, older-x-days.
    Relative(Operator, u32),
}

/// A typed value: of a record, or of a condition.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `String`, `Memo`: lowercased, as they compare case-insensitively.
    Text(String),
    /// `Uniqueidentifier`, `Lookup`: canonical id, compared exactly.
    Id(String),
    /// `DateTime`, `Date` (midnight UTC).
    Instant(DateTime<Utc>),
}

impl Scalar {
    fn compare(&self, other: &Scalar) -> Option<Ordering> {
        match (self, other) {
            (Self::Int(a), Self::Int(b)) => Some(a.cmp(b)),
            (Self::Int(a), Self::Float(b)) => (*a as f64).partial_cmp(b),
            (Self::Float(a), Self::Int(b)) => a.partial_cmp(&(*b as f64)),
            (Self::Float(a), Self::Float(b)) => a.partial_cmp(b),
            (Self::Bool(a), Self::Bool(b)) => Some(a.cmp(b)),
            (Self::Text(a), Self::Text(b)) | (Self::Id(a), Self::Id(b)) => Some(a.cmp(b)),
            (Self::Instant(a), Self::Instant(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    fn equals(&self, other: &Scalar) -> bool {
        self.compare(other) == Some(Ordering::Equal)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LikeToken {
    /// `%`: any run of characters, possibly empty.
    Any,
    /// `_`: exactly one character.
    One,
    Char(char),
}

fn like_pattern(lowercase: &str) -> Vec<LikeToken> {
    lowercase
        .chars()
        .map(|c| match c {
            '%' => LikeToken::Any,
            '_' => LikeToken::One,
            c => LikeToken::Char(c),
        })
        .collect()
}

/// SQL LIKE without escapes or `[…]` sets: iterative, backtracking only to the last `%`.
fn like_matches(pattern: &[LikeToken], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match (pattern.get(p), text.get(t)) {
            (Some(LikeToken::Any), _) => {
                backtrack = Some((p, t));
                p += 1;
                continue;
            }
            (Some(LikeToken::One), Some(_)) => {
                p += 1;
                t += 1;
                continue;
            }
            (Some(LikeToken::Char(c)), Some(x)) if c == x => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((star, from)) => {
                p = star + 1;
                t = from + 1;
                backtrack = Some((star, from + 1));
            }
            None => return false,
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|tok| *tok == LikeToken::Any))
}

/// What a record holds for an attribute.
enum Read {
    /// Absent key or JSON null.
    Absent,
    /// A value that is not of the attribute's type: it satisfies `not-null` and nothing else.
    Unreadable,
    Value(Scalar),
}

/// Reads a value (of a record, or a normalized filter value) as the attribute's type.
fn read(kind: AttributeType, value: Option<&Value>) -> Read {
    use AttributeType as T;
    let value = match value {
        None | Some(Value::Null) => return Read::Absent,
        Some(v) => v,
    };
    let scalar = match (kind, value) {
        (T::String | T::Memo, Value::String(s)) => Some(Scalar::Text(s.to_lowercase())),
        (T::String | T::Memo, Value::Number(n)) => Some(Scalar::Text(n.to_string())),
        (T::String | T::Memo, Value::Bool(b)) => Some(Scalar::Text(b.to_string())),
        (T::Integer | T::Picklist | T::Decimal | T::Money, Value::Number(n)) => n
            .as_i64()
            .map(Scalar::Int)
            .or_else(|| n.as_f64().map(Scalar::Float)),
        (T::Integer | T::Picklist | T::Decimal | T::Money, Value::String(s)) => {
            let s = s.trim();
            s.parse::<i64>().ok().map(Scalar::Int).or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(Scalar::Float)
            })
        }
        (T::Boolean, Value::Bool(b)) => Some(Scalar::Bool(*b)),
        (T::Boolean, Value::Number(n)) => match n.as_i64() {
            Some(0) => Some(Scalar::Bool(false)),
            Some(1) => Some(Scalar::Bool(true)),
            _ => None,
        },
        (T::Boolean, Value::String(s)) => parse_bool(s.trim()).map(Scalar::Bool),
        (T::DateTime | T::Date, Value::String(s)) => parse_instant(s.trim()).map(Scalar::Instant),
        (T::Uniqueidentifier, Value::String(s)) => uuid::Uuid::parse_str(s.trim())
            .ok()
            .map(|u| Scalar::Id(u.hyphenated().to_string())),
        (T::Lookup, Value::String(s)) => Some(Scalar::Id(
            RecordId::parse(s.as_str()).map_or_else(|_| s.clone(), String::from),
        )),
        _ => None,
    };
    scalar.map_or(Read::Unreadable, Read::Value)
}

fn compile_test(
    kind: AttributeType,
    op: Operator,
    values: &[Value],
    ctx: &Ctx<'_>,
) -> Result<Test, FilterError> {
    use Operator as O;
    let scalar = |v: &Value| match read(kind, Some(v)) {
        Read::Value(s) => Ok(s),
        _ => Err(ctx.fail(format_args!(
            "value {} cannot be compared as {kind:?}",
            show(v)
        ))),
    };
    let internal = || {
        ctx.fail(format_args!(
            "operator '{op}' cannot take the values {}",
            shorten(&Value::from(values.to_vec()).to_string())
        ))
    };
    let test = match (op, values) {
        (O::Null, []) => Test::Null,
        (O::NotNull, []) => Test::NotNull,
        (O::Eq | O::Ne | O::Gt | O::Ge | O::Lt | O::Le, [v]) => Test::Compare(op, scalar(v)?),
        (O::In | O::NotIn, values) if !values.is_empty() => Test::In {
            values: values.iter().map(scalar).collect::<Result<_, _>>()?,
            negated: op == O::NotIn,
        },
        (O::Between | O::NotBetween, [low, high]) => Test::Between {
            low: scalar(low)?,
            high: scalar(high)?,
            negated: op == O::NotBetween,
        },
        (O::Like | O::NotLike, [Value::String(p)]) => Test::Like {
            pattern: like_pattern(&p.to_lowercase()),
            negated: op == O::NotLike,
        },
        (O::BeginsWith, [Value::String(p)]) => Test::BeginsWith(p.to_lowercase()),
        (O::EndsWith, [Value::String(p)]) => Test::EndsWith(p.to_lowercase()),
        (O::On | O::OnOrAfter | O::OnOrBefore, [Value::String(d)]) => {
            Test::OnDate(op, parse_date(d).ok_or_else(internal)?)
        }
        (O::LastXHours | O::LastXDays | O::NextXDays | O::OlderXDays, [Value::Number(n)]) => {
            let n = n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(u32::MAX);
            Test::Relative(op, n)
        }
        _ => return Err(internal()),
    };
    Ok(test)
}

fn at_least<T: PartialOrd>(value: T, bound: Option<T>) -> bool {
    match bound {
        Some(bound) => value >= bound,
        None => true,
    }
}

fn at_most<T: PartialOrd>(value: T, bound: Option<T>) -> bool {
    match bound {
        Some(bound) => value <= bound,
        None => true,
    }
}

impl Compiled {
    fn eval(&self, record: &Map<String, Value>, now: DateTime<Utc>) -> bool {
        let mut results = self
            .checks
            .iter()
            .map(|c| c.eval(record, now))
            .chain(self.filters.iter().map(|f| f.eval(record, now)));
        match self.kind {
            FilterType::And => results.all(|r| r),
            FilterType::Or => {
                (self.checks.is_empty() && self.filters.is_empty()) || results.any(|r| r)
            }
        }
    }
}

impl Check {
    fn eval(&self, record: &Map<String, Value>, now: DateTime<Utc>) -> bool {
        let value = match read(self.kind, record.get(&self.attribute)) {
            Read::Absent => return self.test == Test::Null,
            Read::Unreadable => return self.test == Test::NotNull,
            Read::Value(v) => v,
        };
        match &self.test {
            Test::Null => false,
            Test::NotNull => true,
            Test::Compare(op, wanted) => match value.compare(wanted) {
                None => false,
                Some(order) => match op {
                    Operator::Eq => order == Ordering::Equal,
                    Operator::Ne => order != Ordering::Equal,
                    Operator::Gt => order == Ordering::Greater,
                    Operator::Ge => order != Ordering::Less,
                    Operator::Lt => order == Ordering::Less,
                    Operator::Le => order != Ordering::Greater,
                    _ => false,
                },
            },
            Test::In { values, negated } => {
                if values.iter().any(|v| value.compare(v).is_none()) {
                    return false;
                }
                values.iter().any(|v| value.equals(v)) != *negated
            }
            Test::Between { low, high, negated } => {
                match (value.compare(low), value.compare(high)) {
                    (Some(from_low), Some(to_high)) => {
                        let inside = from_low != Ordering::Less && to_high != Ordering::Greater;
                        inside != *negated
                    }
                    _ => false,
                }
            }
            Test::Like { pattern, negated } => match value {
                Scalar::Text(text) => {
                    let chars: Vec<char> = text.chars().collect();
                    like_matches(pattern, &chars) != *negated
                }
                _ => false,
            },
            Test::BeginsWith(prefix) => {
                matches!(value, Scalar::Text(text) if text.starts_with(prefix.as_str()))
            }
            Test::EndsWith(suffix) => {
                matches!(value, Scalar::Text(text) if text.ends_with(suffix.as_str()))
            }
            Test::OnDate(op, date) => match value {
                Scalar::Instant(instant) => {
                    let day = instant.date_naive();
                    match op {
                        Operator::On => day == *date,
                        Operator::OnOrAfter => day >= *date,
                        Operator::OnOrBefore => day <= *date,
                        _ => false,
                    }
                }
                _ => false,
            },
            Test::Relative(op, n) => match value {
                Scalar::Instant(instant) => relative(*op, *n, self.kind, instant, now),
                _ => false,
            },
        }
    }
}

/// The relative date operators, with `today` the UTC date of `now`:
/// - `last-x-hours N`: `now - N hours ≤ value ≤ now`;
/// - `last-x-days N`: `start of (today - N days) ≤ value ≤ now`;
/// - `next-x-days N`: `now ≤ value ≤ end of (today + N days)`;
/// - `older-x-days N`: `value < start of (today - N days)`.
///
/// Days start at midnight UTC. A `Date` attribute is compared by date, with `today` in place of
/// `now`: `last-x-days N` is `today - N ≤ date ≤ today`, `next-x-days N` is
/// `today ≤ date ≤ today + N`, `older-x-days N` is `date < today - N`; `last-x-hours` takes the
/// date as midnight UTC. A bound beyond the calendar's range is no bound.
fn relative(
    op: Operator,
    n: u32,
    kind: AttributeType,
    value: DateTime<Utc>,
    now: DateTime<Utc>,
) -> bool {
    let today = now.date_naive();
    let day = value.date_naive();
    let days = Days::new(u64::from(n));
    let by_date = kind == AttributeType::Date;
    match op {
        Operator::LastXHours => {
            let start = TimeDelta::try_hours(i64::from(n)).and_then(|d| now.checked_sub_signed(d));
            at_least(value, start) && value <= now
        }
        Operator::LastXDays => {
            let start = today.checked_sub_days(days);
            let until_now = if by_date { day <= today } else { value <= now };
            at_least(day, start) && until_now
        }
        Operator::NextXDays => {
            let end = today.checked_add_days(days);
            let from_now = if by_date { day >= today } else { value >= now };
            from_now && at_most(day, end)
        }
        Operator::OlderXDays => today
            .checked_sub_days(days)
            .is_some_and(|start| day < start),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// ValidFilters
// ---------------------------------------------------------------------------------------------

impl ValidFilters {
    /// The normalized filter of an entity, if it has one.
    pub fn filter_for(&self, entity: &str) -> Option<&Filter> {
        self.entities.get(entity).map(|e| &e.filter)
    }

    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Does a record of `entity` (its attributes in the normalized JSON form plus
    /// `createdon`/`modifiedon` as RFC 3339 strings, which the caller puts in the same map)
    /// match? An entity without a filter matches everything.
    ///
    /// A condition on an attribute without a value (absent key or JSON null) is false, except
    /// `null`; `not-null` is true for any value. A value not of the attribute's type satisfies
    /// `not-null` and nothing else. Text compares case-insensitively (Unicode lowercase),
    /// numbers numerically, dates and datetimes as instants (a date is midnight UTC); `on…`
    /// compares UTC dates. Each [`Operator`] variant documents its exact definition; `now` is
    /// the instant the relative operators (`last-x-hours` … `older-x-days`) count from.
    pub fn matches(
        &self,
        entity: &str,
        attributes: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> bool {
        match self.entities.get(entity) {
            Some(e) => e.compiled.eval(attributes, now),
            None => true,
        }
    }

    /// The canonical JSON form: `{"entity": {"Type": …, "Conditions": […], "Filters": […]}}`.
    /// [`SyncFilters::from_json`] gives back exactly the filters.
    pub fn to_json(&self) -> Value {
        let mut object = Map::new();
        for (entity, e) in &self.entities {
            object.insert(entity.clone(), filter_json(&e.filter));
        }
        Value::Object(object)
    }

    /// The canonical XML form: the `<SyncFilters>` document, indented by two spaces.
    /// [`SyncFilters::parse_xml`] then [`SyncFilters::validate`] give back exactly the filters.
    pub fn to_xml(&self) -> String {
        if self.entities.is_empty() {
            return "<SyncFilters/>".to_owned();
        }
        let mut out = String::from("<SyncFilters>\n");
        for (entity, e) in &self.entities {
            out.push_str("  <Entity name=\"");
            escape_xml(entity, &mut out);
            out.push_str("\">\n");
            filter_xml(&e.filter, 2, &mut out);
            out.push_str("  </Entity>\n");
        }
        out.push_str("</SyncFilters>");
        out
    }
}

fn filter_json(filter: &Filter) -> Value {
    let mut object = Map::new();
    object.insert("Type".to_owned(), Value::from(filter.kind.as_str()));
    let conditions = filter.conditions.iter().map(condition_json).collect();
    object.insert("Conditions".to_owned(), Value::Array(conditions));
    let filters = filter.filters.iter().map(filter_json).collect();
    object.insert("Filters".to_owned(), Value::Array(filters));
    Value::Object(object)
}

fn condition_json(condition: &Condition) -> Value {
    let mut object = Map::new();
    object.insert(
        "Attribute".to_owned(),
        Value::from(condition.attribute.as_str()),
    );
    object.insert(
        "Operator".to_owned(),
        Value::from(condition.operator.as_str()),
    );
    if condition.operator.takes_list() {
        object.insert("Values".to_owned(), Value::Array(condition.values.clone()));
    } else if let [value] = condition.values.as_slice() {
        object.insert("Value".to_owned(), value.clone());
    }
    Value::Object(object)
}

fn filter_xml(filter: &Filter, level: usize, out: &mut String) {
    let indent = "  ".repeat(level);
    let _ = write!(out, "{indent}<filter type=\"{}\"", filter.kind.as_str());
    if filter.conditions.is_empty() && filter.filters.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    for condition in &filter.conditions {
        condition_xml(condition, level + 1, out);
    }
    for sub in &filter.filters {
        filter_xml(sub, level + 1, out);
    }
    let _ = writeln!(out, "{indent}</filter>");
}

fn condition_xml(condition: &Condition, level: usize, out: &mut String) {
    let indent = "  ".repeat(level);
    let _ = write!(out, "{indent}<condition attribute=\"");
    escape_xml(&condition.attribute, out);
    let _ = write!(out, "\" operator=\"{}\"", condition.operator.as_str());
    if !condition.operator.takes_list() {
        if let [value] = condition.values.as_slice() {
            out.push_str(" value=\"");
            escape_xml(&value_text(value), out);
            out.push('"');
        }
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    for value in &condition.values {
        let _ = write!(out, "{indent}  <value>");
        escape_xml(&value_text(value), out);
        out.push_str("</value>\n");
    }
    let _ = writeln!(out, "{indent}</condition>");
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Escapes markup characters, and control characters (which XML would normalize away) as
/// character references.
fn escape_xml(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::metadata::{AttributeDef, PicklistOption};
    use crate::domain::names::LogicalName;
    use serde_json::json;

    const EXAMPLE_XML: &str = r#"<SyncFilters>
  <Entity name="account">
    <filter type="and">
      <condition attribute="statecode" operator="eq" value="0"/>
      <condition attribute="industrycode" operator="in"><value>1</value><value>7</value></condition>
      <filter type="or">
        <condition attribute="name" operator="like" value="Contoso%"/>
        <condition attribute="modifiedon" operator="last-x-days" value="30"/>
      </filter>
    </filter>
  </Entity>
</SyncFilters>"#;

    fn name(s: &str) -> LogicalName {
        LogicalName::parse(s).unwrap()
    }

    fn attr(n: &str, kind: AttributeType) -> AttributeDef {
        AttributeDef {
            name: name(n),
            kind,
            required: false,
            max_length: None,
            target: (kind == AttributeType::Lookup).then(|| name("account")),
            options: (kind == AttributeType::Picklist).then(|| {
                [1, 7, 9]
                    .into_iter()
                    .map(|value| PicklistOption { value, label: None })
                    .collect()
            }),
        }
    }

    fn entity(n: &str, attributes: Vec<AttributeDef>) -> EntityDef {
        EntityDef {
            name: name(n),
            display_name: None,
            primary_key: name(&format!("{n}id")),
            primary_name: None,
            attributes,
        }
    }

    /// `account` as in the brief, and `thing` with one attribute of every type.
    fn defs() -> Vec<EntityDef> {
        use AttributeType as T;
        vec![
            entity(
                "account",
                vec![
                    attr("statecode", T::Integer),
                    attr("industrycode", T::Picklist),
                    attr("name", T::String),
                ],
            ),
            entity(
                "thing",
                vec![
                    attr("name", T::String),
                    attr("notes", T::Memo),
                    attr("count", T::Integer),
                    attr("rate", T::Decimal),
                    attr("price", T::Money),
                    attr("active", T::Boolean),
                    attr("due", T::DateTime),
                    attr("birthday", T::Date),
                    attr("ref", T::Uniqueidentifier),
                    attr("owner", T::Lookup),
                    attr("color", T::Picklist),
                ],
            ),
        ]
    }

    fn validate(filters: SyncFilters) -> Result<ValidFilters, FilterError> {
        let defs = defs();
        filters.validate(&|n| defs.iter().find(|d| d.name.as_str() == n))
    }

    fn from_json(value: Value) -> Result<ValidFilters, FilterError> {
        validate(SyncFilters::from_json(&value)?)
    }

    fn from_xml(text: &str) -> Result<ValidFilters, FilterError> {
        validate(SyncFilters::parse_xml(text)?)
    }

    fn now() -> DateTime<Utc> {
        parse_datetime("2026-01-31T12:00:00Z").unwrap()
    }

    fn record(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    /// Evaluates one condition of `thing` against a record holding `attribute: value`.
    fn eval(condition: Value, value: Value) -> bool {
        let filters = from_json(json!({"thing": {"Conditions": [condition.clone()]}}))
            .unwrap_or_else(|e| panic!("{condition}: {e}"));
        let attribute = condition["Attribute"].as_str().unwrap();
        let mut rec = Map::new();
        rec.insert(attribute.to_owned(), value);
        filters.matches("thing", &rec, now())
    }

    fn cond(attribute: &str, operator: &str, value: Value) -> Value {
        json!({"Attribute": attribute, "Operator": operator, "Value": value})
    }

    fn conds(attribute: &str, operator: &str, values: Value) -> Value {
        json!({"Attribute": attribute, "Operator": operator, "Values": values})
    }

    #[test]
    fn every_operator_true_and_false() {
        // (condition, record value, expected)
        let table: Vec<(Value, Value, bool)> = vec![
            (cond("name", "eq", json!("Contoso")), json!("contoso"), true),
            (
                cond("name", "eq", json!("Contoso")),
                json!("Fabrikam"),
                false,
            ),
            (cond("count", "eq", json!(5)), json!(5), true),
            (cond("count", "eq", json!("5")), json!(6), false),
            (cond("rate", "eq", json!(2)), json!(2.0), true),
            (cond("active", "eq", json!(true)), json!(true), true),
            (cond("active", "eq", json!("0")), json!(true), false),
            (cond("name", "ne", json!("a")), json!("b"), true),
            (cond("name", "ne", json!("a")), json!("A"), false),
            (cond("count", "gt", json!(5)), json!(6), true),
            (cond("count", "gt", json!(5)), json!(5), false),
            (cond("rate", "gt", json!("1.5")), json!(1.6), true),
            (cond("rate", "gt", json!(1.5)), json!(1), false),
            (
                cond("due", "gt", json!("2026-01-01")),
                json!("2026-01-01T00:00:01Z"),
                true,
            ),
            (
                cond("due", "gt", json!("2026-01-01")),
                json!("2026-01-01T00:00:00Z"),
                false,
            ),
            (cond("count", "ge", json!(5)), json!(5), true),
            (cond("count", "ge", json!(5)), json!(4), false),
            (cond("name", "lt", json!("b")), json!("Apple"), true),
            (cond("name", "lt", json!("B")), json!("banana"), false),
            (cond("price", "lt", json!(10)), json!(9.99), true),
            (cond("price", "lt", json!(10)), json!(10), false),
            (
                cond("birthday", "le", json!("2000-01-01")),
                json!("2000-01-01"),
                true,
            ),
            (
                cond("birthday", "le", json!("2000-01-01")),
                json!("2000-01-02"),
                false,
            ),
            (
                cond("name", "like", json!("Con%o_")),
                json!("CONTOSO!"),
                true,
            ),
            (
                cond("name", "like", json!("Con%o_")),
                json!("Contoso"),
                false,
            ),
            (cond("name", "like", json!("%")), json!(""), true),
            (cond("name", "like", json!("a_c")), json!("abc"), true),
            (cond("name", "like", json!("a_c")), json!("ac"), false),
            (cond("name", "like", json!("[a]%")), json!("[A]x"), true),
            (cond("name", "like", json!("[a]%")), json!("ax"), false),
            (
                cond("notes", "not-like", json!("%secret%")),
                json!("public"),
                true,
            ),
            (
                cond("notes", "not-like", json!("%secret%")),
                json!("Top SECRET doc"),
                false,
            ),
            (
                cond("name", "begins-with", json!("con")),
                json!("Contoso"),
                true,
            ),
            (
                cond("name", "begins-with", json!("con%")),
                json!("Contoso"),
                false,
            ),
            (
                cond("name", "ends-with", json!("SO")),
                json!("Contoso"),
                true,
            ),
            (
                cond("name", "ends-with", json!("so")),
                json!("Contosa"),
                false,
            ),
            (conds("color", "in", json!([1, 7])), json!(7), true),
            (conds("color", "in", json!([1, 7])), json!(9), false),
            (conds("name", "in", json!(["A", "b"])), json!("B"), true),
            (conds("color", "not-in", json!([1, 7])), json!(9), true),
            (conds("color", "not-in", json!([1, 7])), json!(1), false),
            (
                json!({"Attribute": "name", "Operator": "null"}),
                json!(null),
                true,
            ),
            (
                json!({"Attribute": "name", "Operator": "null"}),
                json!("x"),
                false,
            ),
            (
                json!({"Attribute": "name", "Operator": "not-null"}),
                json!("x"),
                true,
            ),
            (
                json!({"Attribute": "name", "Operator": "not-null"}),
                json!(null),
                false,
            ),
            (conds("count", "between", json!([1, 10])), json!(10), true),
            (conds("count", "between", json!([1, 10])), json!(11), false),
            (
                conds("due", "between", json!(["2026-01-01", "2026-01-31"])),
                json!("2026-01-15T00:00:00Z"),
                true,
            ),
            (
                conds("count", "not-between", json!([1, 10])),
                json!(0),
                true,
            ),
            (
                conds("count", "not-between", json!([1, 10])),
                json!(1),
                false,
            ),
            (
                cond("due", "on", json!("2026-01-31")),
                json!("2026-01-31T23:59:59Z"),
                true,
            ),
            (
                cond("due", "on", json!("2026-01-31T10:00:00Z")),
                json!("2026-02-01T00:00:00Z"),
                false,
            ),
            (
                cond("birthday", "on", json!("2000-05-06")),
                json!("2000-05-06"),
                true,
            ),
            (
                cond("due", "on-or-after", json!("2026-01-31")),
                json!("2026-01-31T00:00:00Z"),
                true,
            ),
            (
                cond("due", "on-or-after", json!("2026-01-31")),
                json!("2026-01-30T23:59:59Z"),
                false,
            ),
            (
                cond("due", "on-or-before", json!("2026-01-31")),
                json!("2026-01-31T23:59:59Z"),
                true,
            ),
            (
                cond("due", "on-or-before", json!("2026-01-31")),
                json!("2026-02-01T00:00:00Z"),
                false,
            ),
            (
                cond("due", "last-x-hours", json!(2)),
                json!("2026-01-31T10:00:00Z"),
                true,
            ),
            (
                cond("due", "last-x-hours", json!(2)),
                json!("2026-01-31T09:59:59Z"),
                false,
            ),
            (
                cond("due", "last-x-hours", json!(2)),
                json!("2026-01-31T12:00:01Z"),
                false,
            ),
            (
                cond("due", "last-x-days", json!(1)),
                json!("2026-01-30T00:00:00Z"),
                true,
            ),
            (
                cond("due", "last-x-days", json!("1")),
                json!("2026-01-29T23:59:59Z"),
                false,
            ),
            (
                cond("due", "last-x-days", json!(1)),
                json!("2026-01-31T12:00:01Z"),
                false,
            ),
            (
                cond("birthday", "last-x-days", json!(1)),
                json!("2026-01-31"),
                true,
            ),
            (
                cond("due", "next-x-days", json!(1)),
                json!("2026-02-01T23:59:59.999Z"),
                true,
            ),
            (
                cond("due", "next-x-days", json!(1)),
                json!("2026-02-02T00:00:00Z"),
                false,
            ),
            (
                cond("due", "next-x-days", json!(1)),
                json!("2026-01-31T11:59:59Z"),
                false,
            ),
            (
                cond("birthday", "next-x-days", json!(1)),
                json!("2026-01-31"),
                true,
            ),
            (
                cond("birthday", "next-x-days", json!(1)),
                json!("2026-02-02"),
                false,
            ),
            (
                cond("due", "older-x-days", json!(1)),
                json!("2026-01-29T23:59:59Z"),
                true,
            ),
            (
                cond("due", "older-x-days", json!(1)),
                json!("2026-01-30T00:00:00Z"),
                false,
            ),
            (
                cond("birthday", "older-x-days", json!(1)),
                json!("2026-01-29"),
                true,
            ),
            (
                cond("ref", "eq", json!("0190F5C2-7A3B-7C1D-8E2F-123456789ABC")),
                json!("0190f5c2-7a3b-7c1d-8e2f-123456789abc"),
                true,
            ),
            (
                cond("ref", "ne", json!("0190F5C2-7A3B-7C1D-8E2F-123456789ABC")),
                json!("0190f5c2-7a3b-7c1d-8e2f-123456789abc"),
                false,
            ),
            (
                cond("owner", "eq", json!("acct-42")),
                json!("acct-42"),
                true,
            ),
            (
                cond("owner", "eq", json!("acct-42")),
                json!("ACCT-42"),
                false,
            ),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (condition, value, expected) in table {
            let op = condition["Operator"].as_str().unwrap().to_owned();
            assert_eq!(
                eval(condition.clone(), value.clone()),
                expected,
                "{condition} on {value}"
            );
            seen.insert((op, expected));
        }
        for op in Operator::ALL {
            for expected in [true, false] {
                assert!(
                    seen.contains(&(op.as_str().to_owned(), expected)),
                    "{op} never evaluated to {expected}"
                );
            }
        }
    }

    #[test]
    fn no_value_is_false_except_null() {
        let missing = json!(null);
        for condition in [
            cond("name", "eq", json!("x")),
            cond("name", "ne", json!("x")),
            conds("name", "not-in", json!(["x"])),
            cond("name", "not-like", json!("x%")),
            conds("count", "not-between", json!([1, 2])),
            cond("due", "older-x-days", json!(1)),
            json!({"Attribute": "name", "Operator": "not-null"}),
        ] {
            assert!(!eval(condition.clone(), missing.clone()), "{condition}");
        }
        assert!(eval(
            json!({"Attribute": "name", "Operator": "null"}),
            missing
        ));
        // An absent key is the same as null.
        let filters = from_json(json!({"thing": {"Conditions": [
            {"Attribute": "count", "Operator": "null"},
            {"Attribute": "createdon", "Operator": "null"}
        ]}}))
        .unwrap();
        assert!(filters.matches("thing", &Map::new(), now()));
        // A value not of the attribute's type is a value, but matches nothing else.
        assert!(eval(
            json!({"Attribute": "count", "Operator": "not-null"}),
            json!("many")
        ));
        assert!(!eval(
            json!({"Attribute": "count", "Operator": "null"}),
            json!("many")
        ));
        assert!(!eval(cond("count", "ne", json!(1)), json!("many")));
    }

    #[test]
    fn strings_compare_case_insensitively() {
        assert!(eval(cond("name", "eq", json!("ÉCOLE")), json!("école")));
        assert!(eval(
            cond("notes", "like", json!("%STRASSE")),
            json!("Hauptstrasse")
        ));
        assert!(eval(
            conds("name", "in", json!(["ALPHA", "Beta"])),
            json!("beta")
        ));
        assert!(!eval(
            conds("name", "not-in", json!(["ALPHA"])),
            json!("alpha")
        ));
        assert!(eval(cond("name", "gt", json!("APPLE")), json!("banana")));
        assert!(eval(cond("name", "ge", json!("apple")), json!("APPLE")));
        // The filter keeps the value as given; only the comparison ignores case.
        let filters =
            from_json(json!({"thing": {"Conditions": [cond("name", "eq", json!("MiXeD"))]}}))
                .unwrap();
        assert_eq!(
            filters.filter_for("thing").unwrap().conditions[0].values,
            vec![json!("MiXeD")]
        );
    }

    #[test]
    fn nested_and_or() {
        let filters = from_json(json!({"thing": {
            "Type": "or",
            "Conditions": [cond("name", "eq", json!("vip"))],
            "Filters": [{"Type": "and",
                         "Conditions": [cond("count", "gt", json!(10))],
                         "Filters": [{"Type": "or", "Conditions": [
                             cond("active", "eq", json!(true)),
                             cond("price", "ge", json!(100))]}]}]
        }}))
        .unwrap();
        let m = |r: Value| filters.matches("thing", &record(r), now());
        assert!(m(json!({"name": "VIP"})));
        assert!(m(json!({"count": 11, "active": true})));
        assert!(m(json!({"count": 11, "active": false, "price": 100})));
        assert!(!m(json!({"count": 11, "active": false, "price": 99.5})));
        assert!(!m(json!({"count": 10, "active": true})));
        assert!(!m(json!({})));
        // Empty filters match everything, and an entity without a filter too.
        let empty = from_json(json!({"thing": {}, "account": {"Type": "or"}})).unwrap();
        assert!(empty.matches("thing", &Map::new(), now()));
        assert!(empty.matches("account", &Map::new(), now()));
        assert!(filters.matches("account", &Map::new(), now()));
        assert!(!empty.is_empty());
        assert!(ValidFilters::default().is_empty());
    }

    #[test]
    fn the_brief_example_parses_validates_and_evaluates() {
        let filters = from_xml(EXAMPLE_XML).unwrap();
        let f = filters.filter_for("account").unwrap();
        assert_eq!(f.kind, FilterType::And);
        assert_eq!(f.conditions.len(), 2);
        assert_eq!(f.conditions[0].values, vec![json!(0)]);
        assert_eq!(f.conditions[1].operator, Operator::In);
        assert_eq!(f.conditions[1].values, vec![json!(1), json!(7)]);
        assert_eq!(f.filters[0].kind, FilterType::Or);
        assert_eq!(f.filters[0].conditions[1].values, vec![json!(30)]);
        assert!(filters.filter_for("contact").is_none());

        let m = |r: Value| filters.matches("account", &record(r), now());
        assert!(m(
            json!({"statecode": 0, "industrycode": 7, "name": "contoso ltd",
                         "modifiedon": "2020-01-01T00:00:00Z"})
        ));
        assert!(m(
            json!({"statecode": 0, "industrycode": 1, "name": "Fabrikam",
                         "modifiedon": "2026-01-10T08:00:00.123Z"})
        ));
        assert!(!m(
            json!({"statecode": 0, "industrycode": 1, "name": "Fabrikam",
                          "modifiedon": "2025-12-31T23:59:59Z"})
        ));
        assert!(!m(
            json!({"statecode": 1, "industrycode": 7, "name": "Contoso"})
        ));
        assert!(!m(
            json!({"statecode": 0, "industrycode": 9, "name": "Contoso"})
        ));
        assert!(!m(json!({"statecode": 0, "name": "Contoso"})));
        assert!(filters.matches("contact", &Map::new(), now()));
    }

    #[test]
    fn xml_values_as_children_and_escapes() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<!-- a comment -->
<SyncFilters>
  <Entity name="thing">
    <filter>
      <condition attribute="count" operator="between">
        <value> 1 </value>
        <!-- inclusive -->
        <value>10</value>
      </condition>
      <condition attribute="name" operator="not-in"><value>A &amp; B</value><value>&lt;x&gt; &#233;</value><value/></condition>
      <condition attribute="notes" operator="eq" value="say &quot;hi&quot;"/>
      <condition attribute="notes" operator="not-in"><value><![CDATA[a<b>]]></value><value>x</value></condition>
    </filter>
  </Entity>
</SyncFilters>
"#;
        let filters = from_xml(xml).unwrap();
        let f = filters.filter_for("thing").unwrap();
        assert_eq!(f.kind, FilterType::And);
        assert_eq!(f.conditions[0].values, vec![json!(1), json!(10)]);
        assert_eq!(
            f.conditions[1].values,
            vec![json!("A & B"), json!("<x> é"), json!("")]
        );
        assert_eq!(f.conditions[2].values, vec![json!("say \"hi\"")]);
        assert_eq!(f.conditions[3].values, vec![json!("a<b>"), json!("x")]);
        let m = |r: Value| filters.matches("thing", &record(r), now());
        assert!(m(json!({"count": 5, "name": "C", "notes": "SAY \"HI\""})));
        assert!(!m(
            json!({"count": 5, "name": "a & b", "notes": "say \"hi\""})
        ));
    }

    #[test]
    fn json_form_parses_equal_to_xml_form() {
        let from_xml = SyncFilters::parse_xml(EXAMPLE_XML).unwrap();
        let json = json!({"account": {"Type": "and",
            "Conditions": [
                {"Attribute": "statecode", "Operator": "eq", "Value": "0"},
                {"Attribute": "industrycode", "Operator": "in", "Values": ["1", "7"]}],
            "Filters": [{"Type": "or", "Conditions": [
                {"Attribute": "name", "Operator": "like", "Value": "Contoso%"},
                {"Attribute": "modifiedon", "Operator": "last-x-days", "Value": "30"}]}]}});
        assert_eq!(SyncFilters::from_json(&json).unwrap(), from_xml);
        // With typed JSON values the validated forms are equal.
        let typed = json!({"account": {
            "Conditions": [
                {"Attribute": "statecode", "Operator": "eq", "Value": 0},
                {"Attribute": "industrycode", "Operator": "in", "Values": [1, 7]}],
            "Filters": [{"Type": "or", "Conditions": [
                {"Attribute": "name", "Operator": "like", "Value": "Contoso%"},
                {"Attribute": "modifiedon", "Operator": "last-x-days", "Value": 30}]}]}});
        assert_eq!(from_json(typed).unwrap(), validate(from_xml).unwrap());
    }

    #[test]
    fn canonical_forms_round_trip() {
        let filters = from_json(json!({
            "account": {"Filters": [{"Type": "or"}]},
            "thing": {"Type": "or", "Conditions": [
                cond("name", "eq", json!("quote \" apos ' amp & lt < tab\tnl\ncr\r end ")),
                cond("notes", "like", json!("  padded%  ")),
                cond("count", "ne", json!(-3)),
                cond("rate", "lt", json!("12")),
                cond("price", "ge", json!(1e20)),
                cond("active", "eq", json!(1)),
                cond("due", "gt", json!("2026-01-31T10:00:00.5+02:00")),
                cond("due", "le", json!("2026-01-31")),
                cond("birthday", "on-or-before", json!("2026-01-31T23:30:00-05:00")),
                cond("ref", "eq", json!("{0190F5C2-7A3B-7C1D-8E2F-123456789ABC}")),
                cond("owner", "eq", json!("0190F5C2-7A3B-7C1D-8E2F-123456789ABC")),
                conds("color", "not-in", json!(["9"])),
                conds("createdon", "between", json!(["2026-01-01", "2026-02-01T00:00:00Z"])),
                json!({"Attribute": "modifiedon", "Operator": "not-null"}),
                cond("modifiedon", "next-x-days", json!(3))],
             "Filters": [{"Conditions": [cond("name", "begins-with", json!("x"))],
                          "Filters": [{"Type": "or"}]}]}
        }))
        .unwrap();
        let thing = filters.filter_for("thing").unwrap();
        let values: Vec<&Value> = thing.conditions.iter().flat_map(|c| &c.values).collect();
        assert_eq!(
            values,
            vec![
                &json!("quote \" apos ' amp & lt < tab\tnl\ncr\r end "),
                &json!("  padded%  "),
                &json!(-3),
                &json!(12.0),
                &json!(1e20),
                &json!(true),
                &json!("2026-01-31T08:00:00.500Z"),
                &json!("2026-01-31T00:00:00Z"),
                &json!("2026-02-01"),
                &json!("0190f5c2-7a3b-7c1d-8e2f-123456789abc"),
                &json!("0190f5c2-7a3b-7c1d-8e2f-123456789abc"),
                &json!(9),
                &json!("2026-01-01T00:00:00Z"),
                &json!("2026-02-01T00:00:00Z"),
                &json!(3),
            ]
        );

        let json = filters.to_json();
        let reparsed = SyncFilters::from_json(&json).unwrap();
        assert_eq!(
            reparsed.entities.get("thing"),
            filters.filter_for("thing"),
            "JSON parses back without validation"
        );
        assert_eq!(validate(reparsed).unwrap(), filters);

        let xml = filters.to_xml();
        assert_eq!(from_xml(&xml).unwrap(), filters, "{xml}");
        assert_eq!(from_xml(&xml).unwrap().to_xml(), xml);
        assert_eq!(from_json(json.clone()).unwrap().to_json(), json);

        assert_eq!(ValidFilters::default().to_xml(), "<SyncFilters/>");
        assert_eq!(from_xml("<SyncFilters/>").unwrap(), ValidFilters::default());
        assert_eq!(ValidFilters::default().to_json(), json!({}));
    }

    #[test]
    fn canonical_shapes() {
        let filters = from_xml(EXAMPLE_XML).unwrap();
        assert_eq!(
            filters.to_json(),
            json!({"account": {"Type": "and",
                "Conditions": [
                    {"Attribute": "statecode", "Operator": "eq", "Value": 0},
                    {"Attribute": "industrycode", "Operator": "in", "Values": [1, 7]}],
                "Filters": [{"Type": "or", "Conditions": [
                    {"Attribute": "name", "Operator": "like", "Value": "Contoso%"},
                    {"Attribute": "modifiedon", "Operator": "last-x-days", "Value": 30}],
                    "Filters": []}]}})
        );
        let expected = r#"<SyncFilters>
  <Entity name="account">
    <filter type="and">
      <condition attribute="statecode" operator="eq" value="0"/>
      <condition attribute="industrycode" operator="in">
        <value>1</value>
        <value>7</value>
      </condition>
      <filter type="or">
        <condition attribute="name" operator="like" value="Contoso%"/>
        <condition attribute="modifiedon" operator="last-x-days" value="30"/>
      </filter>
    </filter>
  </Entity>
</SyncFilters>"#;
        assert_eq!(filters.to_xml(), expected);
    }

    fn xml_error(xml: &str) -> FilterError {
        match SyncFilters::parse_xml(xml) {
            Ok(parsed) => validate(parsed).unwrap_err(),
            Err(e) => e,
        }
    }

    fn json_error(value: Value) -> FilterError {
        match SyncFilters::from_json(&value) {
            Ok(parsed) => validate(parsed).unwrap_err(),
            Err(e) => e,
        }
    }

    fn one(entity: &str, condition: &str) -> String {
        format!(
            r#"<SyncFilters><Entity name="{entity}"><filter>{condition}</filter></Entity></SyncFilters>"#
        )
    }

    fn assert_error(
        e: &FilterError,
        entity: Option<&str>,
        attribute: Option<&str>,
        operator: Option<&str>,
        words: &[&str],
    ) {
        assert_eq!(e.code, "invalid_filter");
        assert_eq!(e.entity.as_deref(), entity, "{e}");
        assert_eq!(e.attribute.as_deref(), attribute, "{e}");
        assert_eq!(e.operator.as_deref(), operator, "{e}");
        assert_eq!(e.to_string(), e.message);
        for part in entity
            .iter()
            .chain(&attribute)
            .chain(&operator)
            .chain(words)
        {
            assert!(e.message.contains(part), "{:?} lacks {part:?}", e.message);
        }
    }

    #[test]
    fn unknown_entity() {
        let e = xml_error(&one(
            "acount",
            r#"<condition attribute="x" operator="eq" value="1"/>"#,
        ));
        assert_error(&e, Some("acount"), None, None, &["metadata"]);
        assert_eq!(
            e.message,
            "filter of entity 'acount': there is no entity 'acount' in the metadata"
        );
    }

    #[test]
    fn unknown_attribute() {
        let e = json_error(json!({"account": {"Conditions": [cond("nmae", "eq", json!("x"))]}}));
        assert_error(
            &e,
            Some("account"),
            Some("nmae"),
            Some("eq"),
            &["not an attribute"],
        );
    }

    #[test]
    fn operator_wrong_for_type() {
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="statecode" operator="like" value="1%"/>"#,
        ));
        assert_eq!(
            e.message,
            "filter of entity 'account': operator 'like' cannot be used on attribute 'statecode' of type Integer"
        );
        assert_error(&e, Some("account"), Some("statecode"), Some("like"), &[]);
        for (attribute, operator, value) in [
            ("color", "gt", json!(1)),
            ("active", "lt", json!(true)),
            ("ref", "ge", json!("0190f5c2-7a3b-7c1d-8e2f-123456789abc")),
            ("owner", "le", json!("x")),
            ("name", "on", json!("2026-01-01")),
            ("count", "last-x-days", json!(1)),
            ("due", "begins-with", json!("2026")),
        ] {
            let e =
                json_error(json!({"thing": {"Conditions": [cond(attribute, operator, value)]}}));
            assert_error(
                &e,
                Some("thing"),
                Some(attribute),
                Some(operator),
                &["cannot be used"],
            );
        }
        let e = json_error(
            json!({"thing": {"Conditions": [conds("name", "between", json!(["a", "b"]))]}}),
        );
        assert_error(
            &e,
            Some("thing"),
            Some("name"),
            Some("between"),
            &["String"],
        );
        let e = json_error(
            json!({"thing": {"Conditions": [conds("color", "not-between", json!([1, 7]))]}}),
        );
        assert_error(
            &e,
            Some("thing"),
            Some("color"),
            Some("not-between"),
            &["Picklist"],
        );
    }

    #[test]
    fn unknown_operator() {
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="name" operator="contains" value="x"/>"#,
        ));
        assert_error(
            &e,
            Some("account"),
            Some("name"),
            Some("contains"),
            &["unknown operator", "not-like"],
        );
        let e = json_error(json!({"account": {"Conditions": [cond("name", "EQ", json!("x"))]}}));
        assert_error(
            &e,
            Some("account"),
            Some("name"),
            Some("EQ"),
            &["unknown operator"],
        );
        assert_eq!(
            "EQ".parse::<Operator>().unwrap_err().operator.as_deref(),
            Some("EQ")
        );
        for op in Operator::ALL {
            assert_eq!(op.as_str().parse::<Operator>(), Ok(op));
            assert_eq!(op.to_string(), op.as_str());
        }
    }

    #[test]
    fn bad_values() {
        for (attribute, operator, value, words) in [
            ("count", "eq", json!("abc"), "Integer"),
            ("count", "eq", json!(1.5), "Integer"),
            ("rate", "eq", json!("NaN"), "Decimal"),
            ("price", "gt", json!(true), "Money"),
            ("active", "eq", json!("yes"), "Boolean"),
            ("active", "eq", json!(2), "Boolean"),
            ("due", "eq", json!("31/01/2026"), "DateTime"),
            ("birthday", "eq", json!("2026-01-31T00:00:00Z"), "Date"),
            ("birthday", "eq", json!("2026-02-30"), "Date"),
            ("ref", "eq", json!("not-a-uuid"), "Uniqueidentifier"),
            ("owner", "eq", json!("has space"), "Lookup"),
            ("color", "eq", json!(3), "options (1, 7, 9)"),
            ("due", "on", json!(20260131), "date"),
            ("due", "last-x-days", json!(0), "positive"),
            ("due", "older-x-days", json!("-1"), "positive"),
            ("name", "eq", json!("nul\u{0}"), "NUL"),
        ] {
            let e = json_error(
                json!({"thing": {"Conditions": [cond(attribute, operator, value.clone())]}}),
            );
            assert_error(
                &e,
                Some("thing"),
                Some(attribute),
                Some(operator),
                &[words, "value"],
            );
        }
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="industrycode" operator="in"><value>1</value><value>x</value></condition>"#,
        ));
        assert_error(
            &e,
            Some("account"),
            Some("industrycode"),
            Some("in"),
            &["'x'", "Picklist"],
        );
    }

    #[test]
    fn wrong_value_count() {
        for (condition, words) in [
            (cond("name", "null", json!("x")), "no value, got 1"),
            (
                json!({"Attribute": "name", "Operator": "eq"}),
                "exactly one value, got 0",
            ),
            (
                conds("count", "between", json!([1])),
                "exactly 2 values, got 1",
            ),
            (
                conds("count", "not-between", json!([1, 2, 3])),
                "exactly 2 values, got 3",
            ),
            (conds("count", "in", json!([])), "at least one value, got 0"),
        ] {
            let attribute = condition["Attribute"].as_str().unwrap().to_owned();
            let operator = condition["Operator"].as_str().unwrap().to_owned();
            let e = json_error(json!({"thing": {"Conditions": [condition]}}));
            assert_error(
                &e,
                Some("thing"),
                Some(&attribute),
                Some(&operator),
                &[words],
            );
        }
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="statecode" operator="between" value="1"/>"#,
        ));
        assert_error(
            &e,
            Some("account"),
            Some("statecode"),
            Some("between"),
            &["exactly 2 values"],
        );
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="statecode" operator="in"/>"#,
        ));
        assert_error(
            &e,
            Some("account"),
            Some("statecode"),
            Some("in"),
            &["at least one value"],
        );
        // One value in the value attribute is fine for in.
        assert!(from_xml(&one(
            "account",
            r#"<condition attribute="statecode" operator="in" value="1"/>"#
        ))
        .is_ok());
    }

    #[test]
    fn xml_structure_errors() {
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="name" operator="eq" value="x"><foo/></condition>"#,
        ));
        assert_error(
            &e,
            Some("account"),
            Some("name"),
            Some("eq"),
            &["unknown element <foo>"],
        );
        let e = xml_error(&one("account", r#"<conditions attribute="name"/>"#));
        assert_error(
            &e,
            Some("account"),
            None,
            None,
            &["unknown element <conditions> in <filter>"],
        );
        let e = xml_error("<SyncFilters><entity name=\"account\"/></SyncFilters>");
        assert_error(&e, None, None, None, &["unknown element <entity>"]);
        let e = xml_error("<Filters/>");
        assert_error(&e, None, None, None, &["<Filters>"]);

        let e = xml_error(&one(
            "account",
            r#"<condition attribute="name" operator="eq" value="x" negate="true"/>"#,
        ));
        assert_error(
            &e,
            Some("account"),
            None,
            None,
            &["unknown attribute 'negate' on <condition>"],
        );
        let e = xml_error(
            r#"<SyncFilters><Entity name="account" id="1"><filter/></Entity></SyncFilters>"#,
        );
        assert_error(
            &e,
            None,
            None,
            None,
            &["unknown attribute 'id' on <Entity>"],
        );
        let e = xml_error(r#"<SyncFilters xmlns="urn:x"/>"#);
        assert_error(&e, None, None, None, &["unknown attribute 'xmlns'"]);
        let e = xml_error(
            r#"<SyncFilters><Entity name="account"><filter type="and" mode="x"/></Entity></SyncFilters>"#,
        );
        assert_error(&e, Some("account"), None, None, &["'mode'"]);
        let e = xml_error(
            r#"<SyncFilters><Entity name="account"><filter type="AND"/></Entity></SyncFilters>"#,
        );
        assert_error(&e, Some("account"), None, None, &["'AND'"]);
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="industrycode" operator="in"><value x="1">1</value></condition>"#,
        ));
        assert_error(
            &e,
            Some("account"),
            Some("industrycode"),
            Some("in"),
            &["'x' on <value>"],
        );

        let e = xml_error(&one(
            "account",
            r#"<condition attribute="statecode" operator="in" value="1"><value>2</value></condition>"#,
        ));
        assert_error(
            &e,
            Some("account"),
            Some("statecode"),
            Some("in"),
            &["both"],
        );
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="statecode" operator="eq"><value>2</value></condition>"#,
        ));
        assert_error(
            &e,
            Some("account"),
            Some("statecode"),
            Some("eq"),
            &["'value' attribute"],
        );
        let e = xml_error(&one("account", r#"<condition operator="eq" value="1"/>"#));
        assert_error(&e, Some("account"), None, None, &["'attribute'"]);
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="name" value="1"/>"#,
        ));
        assert_error(&e, Some("account"), Some("name"), None, &["'operator'"]);
        let e = xml_error(&one("account", "stray text"));
        assert_error(
            &e,
            Some("account"),
            None,
            None,
            &["unexpected text 'stray text'"],
        );

        let e = xml_error(r#"<SyncFilters><Entity name="account"/></SyncFilters>"#);
        assert_error(&e, Some("account"), None, None, &["exactly one <filter>"]);
        let e = xml_error(
            r#"<SyncFilters><Entity name="account"><filter/><filter/></Entity></SyncFilters>"#,
        );
        assert_error(&e, Some("account"), None, None, &["exactly one <filter>"]);
        let e = xml_error(r#"<SyncFilters><Entity><filter/></Entity></SyncFilters>"#);
        assert_error(&e, None, None, None, &["'name'"]);
    }

    #[test]
    fn duplicate_entity() {
        let e = xml_error(
            r#"<SyncFilters><Entity name="account"><filter/></Entity><Entity name="account"><filter type="or"/></Entity></SyncFilters>"#,
        );
        assert_error(&e, Some("account"), None, None, &["more than one <Entity>"]);
    }

    #[test]
    fn malformed_xml() {
        for xml in [
            "",
            "   ",
            "<SyncFilters>",
            "<SyncFilters><Entity name=\"account\"><filter></Entity></SyncFilters>",
            "<SyncFilters></syncfilters>",
            "<SyncFilters/><SyncFilters/>",
            "<SyncFilters/>trailing",
            "<SyncFilters><Entity name=account><filter/></Entity></SyncFilters>",
            "<SyncFilters><Entity name=\"a\" name=\"b\"><filter/></Entity></SyncFilters>",
            "<SyncFilters><Entity name=\"account\"><filter><condition attribute=\"name\" operator=\"eq\" value=\"a & b\"/></filter></Entity></SyncFilters>",
            "<SyncFilters><!-- bad -- comment --></SyncFilters>",
            "<SyncFilters><?pi x?></SyncFilters>",
            "<SyncFilters><![CDATA[x]]></SyncFilters>",
            "{\"account\": {}}",
        ] {
            let e = SyncFilters::parse_xml(xml).unwrap_err();
            assert_eq!(e.code, "invalid_filter");
            assert!(!e.message.is_empty(), "{xml}");
        }
        let e = SyncFilters::parse_xml("<SyncFilters><Entity name=\"account\">").unwrap_err();
        assert_error(&e, Some("account"), None, None, &["ends inside <Entity>"]);
        let e = SyncFilters::parse_xml(
            "<SyncFilters><Entity name=\"a\" name=\"b\"><filter/></Entity></SyncFilters>",
        )
        .unwrap_err();
        assert!(e.message.contains("malformed XML"), "{}", e.message);
    }

    #[test]
    fn doctype_and_entities_are_refused() {
        let xml = r#"<?xml version="1.0"?>
<!DOCTYPE SyncFilters [<!ENTITY big "lots">]>
<SyncFilters><Entity name="account"><filter><condition attribute="name" operator="eq" value="&big;"/></filter></Entity></SyncFilters>"#;
        let e = xml_error(xml);
        assert_error(&e, None, None, None, &["DOCTYPE"]);
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="name" operator="eq" value="&big;"/>"#,
        ));
        assert_error(&e, Some("account"), None, None, &["'&big;'"]);
        let e = xml_error(&one(
            "account",
            r#"<condition attribute="name" operator="in"><value>&big;</value></condition>"#,
        ));
        assert_error(&e, Some("account"), Some("name"), Some("in"), &["'&big;'"]);
        // The predefined entities and character references are fine.
        assert!(from_xml(&one("account", r#"<condition attribute="name" operator="eq" value="&lt;&gt;&amp;&quot;&apos;&#65;&#x42;"/>"#)).is_ok());
    }

    #[test]
    fn json_structure_errors() {
        let e = json_error(json!({"account": {"Type": "and", "Condition": []}}));
        assert_error(
            &e,
            Some("account"),
            None,
            None,
            &["unknown key 'Condition'"],
        );
        let e = json_error(json!({"account": {"Conditions": [
            {"Attribute": "name", "Operator": "eq", "Value": "x", "Negate": true}]}}));
        assert_error(
            &e,
            Some("account"),
            Some("name"),
            Some("eq"),
            &["unknown key 'Negate'"],
        );
        let e = json_error(json!({"account": {"Filters": [{"type": "or"}]}}));
        assert_error(&e, Some("account"), None, None, &["unknown key 'type'"]);
        let e = json_error(json!({"account": {"Conditions": [
            {"Attribute": "name", "Operator": "in", "Value": "x", "Values": ["y"]}]}}));
        assert_error(
            &e,
            Some("account"),
            Some("name"),
            Some("in"),
            &["both Value and Values"],
        );
        let e = json_error(json!({"account": {"Conditions": [cond("name", "eq", json!(["x"]))]}}));
        assert_error(&e, Some("account"), Some("name"), Some("eq"), &["Values"]);
        let e = json_error(json!({"account": {"Conditions": [conds("name", "eq", json!(["x"]))]}}));
        assert_error(
            &e,
            Some("account"),
            Some("name"),
            Some("eq"),
            &["single Value"],
        );
        let e = json_error(
            json!({"account": {"Conditions": [conds("name", "in", json!([{"x": 1}]))]}}),
        );
        assert_error(
            &e,
            Some("account"),
            Some("name"),
            Some("in"),
            &["number, a string or a boolean"],
        );
        let e = json_error(json!({"account": {"Type": "xor"}}));
        assert_error(&e, Some("account"), None, None, &["'xor'"]);
        let e = json_error(json!({"account": {"Conditions": {}}}));
        assert_error(&e, Some("account"), None, None, &["array"]);
        let e = json_error(json!({"account": {"Conditions": [{"Operator": "eq"}]}}));
        assert_error(&e, Some("account"), None, None, &["Attribute"]);
        let e = json_error(json!({"account": []}));
        assert_error(&e, Some("account"), None, None, &["JSON object"]);
        let e = json_error(json!(["account"]));
        assert_error(&e, None, None, None, &["JSON object"]);
        // null members count as absent.
        let ok = from_json(json!({"account": {"Type": null, "Conditions": [
            {"Attribute": "name", "Operator": "null", "Value": null}], "Filters": null}}));
        assert!(ok.is_ok());
    }

    #[test]
    fn nesting_depth_is_limited() {
        let nested = |depth: usize| {
            let mut f = json!({});
            for _ in 1..depth {
                f = json!({"Filters": [f]});
            }
            json!({"account": f})
        };
        assert!(from_json(nested(MAX_FILTER_DEPTH)).is_ok());
        let e = json_error(nested(MAX_FILTER_DEPTH + 1));
        assert_error(&e, Some("account"), None, None, &["nested more than 16"]);

        let xml = |depth: usize| {
            format!(
                r#"<SyncFilters><Entity name="account">{}{}</Entity></SyncFilters>"#,
                "<filter>".repeat(depth),
                "</filter>".repeat(depth)
            )
        };
        assert!(from_xml(&xml(MAX_FILTER_DEPTH)).is_ok());
        let e = xml_error(&xml(MAX_FILTER_DEPTH + 1));
        assert_error(&e, Some("account"), None, None, &["nested more than 16"]);

        // Validation refuses a too-deep filter built by hand as well.
        let mut filter = Filter::default();
        for _ in 0..MAX_FILTER_DEPTH {
            filter = Filter {
                filters: vec![filter],
                ..Filter::default()
            };
        }
        let mut entities = BTreeMap::new();
        entities.insert("account".to_owned(), filter);
        let e = validate(SyncFilters { entities }).unwrap_err();
        assert_error(&e, Some("account"), None, None, &["nested"]);
    }

    #[test]
    fn like_matcher() {
        let m = |p: &str, t: &str| {
            let chars: Vec<char> = t.chars().collect();
            like_matches(&like_pattern(p), &chars)
        };
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("%", "anything"));
        assert!(m("%%", ""));
        assert!(m("a%b%c", "aXXbYYc"));
        assert!(m("a%b%c", "abbbc"));
        assert!(!m("a%b%c", "acb"));
        assert!(m("%ab", "aab"));
        assert!(m("_%_", "ab"));
        assert!(!m("_%_", "a"));
        assert!(m("%a%a%a%a%b", &format!("{}b", "a".repeat(50))));
        assert!(!m("%a%a%a%a%b", &"a".repeat(50)));
    }

    #[test]
    fn huge_relative_values_do_not_overflow() {
        assert!(eval(
            cond("due", "last-x-days", json!(i64::MAX)),
            json!("1970-01-01T00:00:00Z")
        ));
        assert!(eval(
            cond("due", "last-x-hours", json!(i64::MAX)),
            json!("1970-01-01T00:00:00Z")
        ));
        assert!(eval(
            cond("due", "next-x-days", json!(i64::MAX)),
            json!("2999-01-01T00:00:00Z")
        ));
        assert!(!eval(
            cond("due", "older-x-days", json!(i64::MAX)),
            json!("1970-01-01T00:00:00Z")
        ));
    }

    #[test]
    fn system_attributes_are_filterable_as_datetimes() {
        let filters = from_json(json!({"account": {"Conditions": [
            cond("createdon", "on-or-after", json!("2026-01-01")),
            cond("modifiedon", "lt", json!("2026-01-31T11:00:00Z"))]}}))
        .unwrap();
        let m = |r: Value| filters.matches("account", &record(r), now());
        assert!(m(
            json!({"createdon": "2026-01-01T00:00:00Z", "modifiedon": "2026-01-31T10:59:59.999999Z"})
        ));
        assert!(!m(
            json!({"createdon": "2025-12-31T23:59:59Z", "modifiedon": "2026-01-31T10:00:00Z"})
        ));
        assert!(!m(
            json!({"createdon": "2026-01-02T00:00:00Z", "modifiedon": "2026-01-31T11:00:00Z"})
        ));
    }
}
