//! Compare's digests of a table: the database keeps no digest, so the rows a filter keeps are
//! read once in pages (what the database can decide of the filter decided there), each
//! digested as the client stores it, and kept sorted by id for the rounds that follow.

use chrono::Utc;
use serde_json::Value;

use super::pushdown;
use super::read::{corrupt, filter_of};
use super::store::{failed, Shape, Store};
use super::values::{key_object, record_of};
use crate::domain::digest::{record_digest, RecordDigest};
use crate::domain::metadata::EntityDef;
use crate::domain::record::{normalize_owned, Source};
use crate::providers::ProviderError;
use crate::wire::compare::{DigestRange, Digests, RangeAnswer};

/// Rows read per page.
const PAGE: i64 = 5000;

/// An entity's digested rows, sorted by id (byte by byte), and what they were read for.
pub(super) struct Digested {
    /// The entity and its filters as asked.
    key: String,
    records: Vec<(String, RecordDigest)>,
}

/// The answer to `ranges`, from `cache` when it holds the same entity and filters, else from
/// the rows read now (and kept in `cache`).
pub(super) fn digests(
    store: &mut Store,
    cache: &mut Option<Digested>,
    def: &EntityDef,
    shape: &Shape,
    filters: Option<&Value>,
    ranges: &[DigestRange],
) -> Result<Digests, ProviderError> {
    let key = format!(
        "{}\n{}",
        def.name,
        filters.map(Value::to_string).unwrap_or_default()
    );
    if cache.as_ref().is_none_or(|c| c.key != key) {
        *cache = Some(Digested {
            records: read(store, def, shape, filters)?,
            key,
        });
    }
    let records = cache
        .as_ref()
        .map(|c| c.records.as_slice())
        .unwrap_or_default();
    let mut out = Digests::default();
    for range in ranges {
        let ids = range.id_range();
        let start = ids
            .from
            .as_deref()
            .map_or(0, |f| records.partition_point(|(id, _)| id.as_str() < f));
        let mut answer = RangeAnswer::new(range);
        for (id, digest) in records[start..]
            .iter()
            .take_while(|(id, _)| ids.contains(id))
        {
            answer.push(id, digest);
        }
        out.ranges.push(answer.finish());
    }
    Ok(out)
}

/// Every row `filters` keeps, digested, sorted by id.
fn read(
    store: &mut Store,
    def: &EntityDef,
    shape: &Shape,
    filters: Option<&Value>,
) -> Result<Vec<(String, RecordDigest)>, ProviderError> {
    let entity = def.name.as_str();
    let filters = filter_of(filters, def)?;
    let condition = filters
        .as_ref()
        .and_then(|f| f.filter_for(entity))
        .and_then(|filter| pushdown::condition(filter, def, store.dialect()));
    let now = Utc::now();
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let rows = store
            .page(shape, after.as_deref(), condition.as_deref(), PAGE)
            .map_err(failed)?;
        let mut last = None;
        for text in &rows {
            let (id, attributes) = record_of(def, shape, text).map_err(corrupt)?;
            if filters
                .as_ref()
                .is_none_or(|f| f.matches(entity, &attributes, now))
            {
                // As the client stores it: a value the metadata normalizes digests the same.
                let stored =
                    normalize_owned(def, attributes.clone(), Source::Json).unwrap_or(attributes);
                out.push((id.clone(), record_digest(&id, &stored)));
            }
            last = Some(id);
        }
        match last {
            Some(id) if rows.len() as i64 == PAGE => {
                after = Some(Value::Object(key_object(shape, &id)).to_string());
            }
            _ => break,
        }
    }
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
