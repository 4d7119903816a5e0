//! How much a filter may ask for: its conditions, the values of each, and the length of a
//! value. A filter is evaluated against every record a sync reads, so these caps bound the CPU
//! one request can make the service spend; a filter over them is refused, naming the cap.

use super::error::Ctx;
use super::{Filter, FilterError, SyncFilters};

/// Most conditions in all the filters of one request.
pub const MAX_CONDITIONS: usize = 256;
/// Most values of one condition (`in`, `not-in`).
pub const MAX_VALUES: usize = 1000;
/// Longest value, in characters.
pub const MAX_VALUE_CHARS: usize = 1000;

impl SyncFilters {
    /// Checks the caps; the parsers call it on what they read.
    pub(super) fn check_caps(self) -> Result<Self, FilterError> {
        let mut conditions = 0;
        for (entity, filter) in &self.entities {
            check(filter, entity, &mut conditions)?;
        }
        Ok(self)
    }
}

fn check(filter: &Filter, entity: &str, conditions: &mut usize) -> Result<(), FilterError> {
    for c in &filter.conditions {
        *conditions += 1;
        if *conditions > MAX_CONDITIONS {
            return Err(Ctx::entity(entity).fail(format_args!(
                "the filters hold more than {MAX_CONDITIONS} conditions (the cap of a request)"
            )));
        }
        let ctx = Ctx::condition(entity, &c.attribute, Some(c.operator.as_str()));
        if c.values.len() > MAX_VALUES {
            return Err(ctx.fail(format_args!(
                "{} values are more than the cap of {MAX_VALUES} for one condition",
                c.values.len()
            )));
        }
        if let Some(long) = c
            .values
            .iter()
            .filter_map(|v| v.as_str())
            .find(|s| s.chars().count() > MAX_VALUE_CHARS)
        {
            return Err(ctx.fail(format_args!(
                "a value of {} characters is longer than the cap of {MAX_VALUE_CHARS}",
                long.chars().count()
            )));
        }
    }
    filter
        .filters
        .iter()
        .try_for_each(|f| check(f, entity, conditions))
}
