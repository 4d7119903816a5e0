//! The XML form: parsing a `<SyncFilters>` document, and writing the canonical one.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use quick_xml::escape::EscapeError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde_json::Value;

use super::error::{parse_operator, shorten, too_deep, Ctx};
use super::{
    Condition, Filter, FilterError, FilterType, SyncFilters, ValidFilters, MAX_FILTER_DEPTH,
};

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
        Self { entities }.check_caps()
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

// ---------------------------------------------------------------------------------------------
// The canonical XML form
// ---------------------------------------------------------------------------------------------

impl ValidFilters {
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
