//! Reading and writing the values of conditions: the parsers and formats that validation
//! (which normalizes a filter's values) and evaluation (which reads records' values) share.

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use serde_json::Value;

use super::error::shorten;

/// A filter value for a message.
pub(super) fn show(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{}'", shorten(s)),
        other => shorten(&other.to_string()),
    }
}

pub(super) fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A date written exactly `YYYY-MM-DD`.
pub(super) fn parse_date(text: &str) -> Option<NaiveDate> {
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

pub(super) fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// An RFC 3339 datetime, or a date meaning midnight UTC.
pub(super) fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    parse_date(text)
        .map(midnight)
        .or_else(|| parse_datetime(text))
}

pub(super) fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc()
}

pub(super) fn format_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub(super) fn format_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}
