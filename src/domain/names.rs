//! Validated names: an org, an entity, an attribute, a record id. The engine never sees an unchecked one.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

static ORG_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9-]{1,62}$").unwrap_or_else(|_| unreachable!()));
static LOGICAL_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9_]{0,63}$").unwrap_or_else(|_| unreachable!()));
static RECORD_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$").unwrap_or_else(|_| unreachable!())
});

/// Why a name was refused; the caller turns it into a problem naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} '{value}' is not valid: {rule}")]
pub struct InvalidName {
    pub what: &'static str,
    pub value: String,
    pub rule: &'static str,
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $re:ident, $rule:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidName> {
                let value = value.into();
                if $re.is_match(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidName { what: $what, value, rule: $rule })
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = InvalidName;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }
        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// An organization's name: `^[a-z0-9][a-z0-9-]{1,62}$`.
    OrgName, "organization name", ORG_NAME, "lowercase letters, digits and '-', 2 to 63 characters, not starting with '-'"
);
name_type!(
    /// The logical name of an entity or an attribute: `^[a-z][a-z0-9_]{0,63}$`.
    LogicalName, "logical name", LOGICAL_NAME, "lowercase letters, digits and '_', starting with a letter, at most 64 characters"
);

/// A record's identity. A UUID in any case is kept in its canonical lowercase form, so the same
/// record can never be stored twice under two spellings of its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordId(String);

impl RecordId {
    pub fn parse(value: impl Into<String>) -> Result<Self, InvalidName> {
        let value = value.into();
        if let Ok(uuid) = uuid::Uuid::parse_str(&value) {
            return Ok(Self(uuid.hyphenated().to_string()));
        }
        if RECORD_ID.is_match(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidName {
                what: "record id",
                value,
                rule: "a UUID, or 1 to 128 letters, digits and '._:@-'",
            })
        }
    }
    /// A new time-ordered id (UUIDv7).
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().hyphenated().to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for RecordId {
    type Error = InvalidName;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}
impl From<RecordId> for String {
    fn from(value: RecordId) -> String {
        value.0
    }
}
impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_names_follow_the_contract() {
        assert!(OrgName::parse("contoso").is_ok());
        assert!(OrgName::parse("c0-ntoso").is_ok());
        assert!(OrgName::parse("c").is_err());
        assert!(OrgName::parse("-contoso").is_err());
        assert!(OrgName::parse("Contoso").is_err());
        assert!(OrgName::parse("a".repeat(64)).is_err());
    }

    #[test]
    fn uuid_ids_are_canonical() {
        let upper = RecordId::parse("0190F5C2-7A3B-7C1D-8E2F-123456789ABC").map(String::from);
        assert_eq!(upper.as_deref(), Ok("0190f5c2-7a3b-7c1d-8e2f-123456789abc"));
        assert!(RecordId::parse("acct-42").is_ok());
        assert!(RecordId::parse("has space").is_err());
        assert!(RecordId::parse("").is_err());
    }
}
