//! `Decimal` and `Money` values are exact decimals: read from a JSON number (whose digits
//! serde_json keeps as written, feature `arbitrary_precision`) or from text, compared as
//! decimals, and written back as a JSON number with every digit, never through a binary float.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Number, Value};

/// The decimal a JSON number or a text holds: plain (`-0.0001`) or with an exponent (`1.5e3`).
/// None for anything else, and for a value a decimal cannot hold exactly (more than 28
/// significant digits, or beyond about 7.9e28): refused rather than rounded.
pub fn parse(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() || t.starts_with('+') || t.ends_with('.') || t.starts_with('.') {
        return None;
    }
    let d = if t.contains(['e', 'E']) {
        let d = Decimal::from_scientific(t).ok()?;
        // from_scientific rounds a mantissa too long to fit; only an exact reading counts.
        let mantissa = t.split(['e', 'E']).next()?;
        let digits = mantissa.trim_start_matches('-').replace('.', "");
        let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
        if significant > 28 {
            return None;
        }
        d
    } else {
        Decimal::from_str_exact(t).ok()?
    };
    Some(d)
}

/// The decimal a JSON value holds, as [`parse`] reads it.
pub fn of_value(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(n) => parse(&n.to_string()),
        Value::String(s) => parse(s),
        _ => None,
    }
}

/// The JSON number of a decimal, in its shortest exact form: `1.50` is `1.5`, `-0` is `0`.
pub fn to_value(d: Decimal) -> Value {
    let d = if d.is_zero() {
        Decimal::ZERO
    } else {
        d.normalize()
    };
    Number::from_str(&d.to_string()).map_or_else(|_| Value::String(d.to_string()), Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(text: &str) -> String {
        parse(text)
            .map(to_value)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn every_digit_survives() {
        assert_eq!(exact("90071992547409.9999"), "90071992547409.9999");
        assert_eq!(exact("-0.0001"), "-0.0001");
        assert_eq!(exact("1.50"), "1.5");
        assert_eq!(exact("-0.000"), "0");
        assert_eq!(exact("1.5e3"), "1500");
        assert_eq!(
            exact("12345678901234567890.12345678"),
            "12345678901234567890.12345678"
        );
        let n: Value = serde_json::from_str("90071992547409.9999").unwrap();
        assert_eq!(of_value(&n).map(to_value), Some(n.clone()));
        assert_eq!(n.to_string(), "90071992547409.9999");
    }

    #[test]
    fn what_is_not_an_exact_decimal_is_refused() {
        for bad in [
            "",
            "abc",
            "1.2.3",
            "+1",
            ".5",
            "5.",
            "1e",
            "NaN",
            "inf",
            "0x10",
            "1.00000000000000000000000000001",
            "1e40",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
