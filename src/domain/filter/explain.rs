//! Why a record is out of scope: each condition of a filter it fails, with its own value.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{Operator, ValidFilters};

/// A condition a record fails: the condition as validated, and what the record holds there.
#[derive(Debug, Clone, PartialEq)]
pub struct Failed {
    pub attribute: String,
    pub operator: Operator,
    /// The condition's value (a list for `in`, `between`…; null for `null`, `not-null`).
    pub value: Value,
    /// The record's value (null when it has none).
    pub actual: Value,
}

impl ValidFilters {
    /// Why a record of `entity` (attributes as for [`ValidFilters::matches`]) is out of scope:
    /// every condition it fails, nested filters included (of an `or`, every branch, since all
    /// failed). Empty when it matches.
    pub fn explain(
        &self,
        entity: &str,
        attributes: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Vec<Failed> {
        let Some(e) = self.entities.get(entity) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        e.compiled.failures(&e.filter, attributes, now, &mut out);
        out
    }
}
