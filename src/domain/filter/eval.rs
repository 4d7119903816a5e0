//! Evaluation: validated filters compiled to typed checks, and those checks run on a record.

use std::cmp::Ordering;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::error::{shorten, Ctx};
use super::values::{parse_bool, parse_date, parse_instant, show};
use super::{FilterError, FilterType, Operator, ValidFilters};
use crate::domain::metadata::AttributeType;
use crate::domain::names::RecordId;

impl ValidFilters {
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
}

/// A filter ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Compiled {
    kind: FilterType,
    checks: Vec<Check>,
    filters: Vec<Compiled>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Check {
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
    /// `Decimal`, `Money`: exact.
    Dec(Decimal),
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
            (Self::Int(a), Self::Dec(b)) => Some(Decimal::from(*a).cmp(b)),
            (Self::Dec(a), Self::Int(b)) => Some(a.cmp(&Decimal::from(*b))),
            (Self::Dec(a), Self::Dec(b)) => Some(a.cmp(b)),
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
        (T::Integer | T::Picklist, Value::Number(n)) => n.as_i64().map(Scalar::Int),
        (T::Integer | T::Picklist, Value::String(s)) => s.trim().parse().ok().map(Scalar::Int),
        (T::Decimal | T::Money, Value::Number(_) | Value::String(_)) => {
            crate::domain::decimal::of_value(value).map(Scalar::Dec)
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
    /// The failed conditions of `filter` (the validated filter this was compiled from, whose
    /// conditions and nested filters are in the same order).
    pub(super) fn failures(
        &self,
        filter: &super::Filter,
        record: &Map<String, Value>,
        now: DateTime<Utc>,
        out: &mut Vec<super::Failed>,
    ) {
        if self.eval(record, now) {
            return;
        }
        for (check, condition) in self.checks.iter().zip(&filter.conditions) {
            if !check.eval(record, now) {
                let value = match condition.values.as_slice() {
                    [] => Value::Null,
                    [one] if !condition.operator.takes_list() => one.clone(),
                    many => Value::Array(many.to_vec()),
                };
                out.push(super::Failed {
                    attribute: condition.attribute.clone(),
                    operator: condition.operator,
                    value,
                    actual: record
                        .get(&condition.attribute)
                        .cloned()
                        .unwrap_or(Value::Null),
                });
            }
        }
        for (sub, nested) in self.filters.iter().zip(&filter.filters) {
            sub.failures(nested, record, now, out);
        }
    }

    pub(super) fn new(kind: FilterType, checks: Vec<Check>, filters: Vec<Compiled>) -> Self {
        Self {
            kind,
            checks,
            filters,
        }
    }

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
    /// The check of a condition on `attribute`, of type `kind`, its values normalized.
    pub(super) fn compile(
        attribute: String,
        kind: AttributeType,
        op: Operator,
        values: &[Value],
        ctx: &Ctx<'_>,
    ) -> Result<Self, FilterError> {
        let test = compile_test(kind, op, values, ctx)?;
        Ok(Self {
            attribute,
            kind,
            test,
        })
    }

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
