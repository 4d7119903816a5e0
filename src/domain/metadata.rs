//! An org's metadata: entities and their typed attributes, and the checks a definition must pass.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::names::{InvalidName, LogicalName};

/// The type of an attribute. Values are stored in one normalized JSON form per type:
/// strings for `String`, `Memo`, `DateTime` (RFC 3339, UTC), `Date` (`YYYY-MM-DD`),
/// `Uniqueidentifier` (lowercase) and `Lookup` (the target record's id); numbers for
/// `Integer`, `Decimal`, `Money` and `Picklist`; booleans for `Boolean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum AttributeType {
    String,
    Memo,
    Integer,
    Decimal,
    Money,
    Boolean,
    DateTime,
    Date,
    Uniqueidentifier,
    Lookup,
    Picklist,
}

impl AttributeType {
    pub fn is_text(self) -> bool {
        matches!(self, Self::String | Self::Memo)
    }
    pub fn is_number(self) -> bool {
        matches!(
            self,
            Self::Integer | Self::Decimal | Self::Money | Self::Picklist
        )
    }
    pub fn is_temporal(self) -> bool {
        matches!(self, Self::DateTime | Self::Date)
    }
}

/// One choice of a `Picklist` attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(remote = "Self", rename_all = "PascalCase", deny_unknown_fields)]
pub struct PicklistOption {
    pub value: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A typed field of an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(remote = "Self", rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttributeDef {
    #[schema(value_type = String, example = "emailaddress1")]
    pub name: LogicalName,
    #[serde(rename = "Type")]
    pub kind: AttributeType,
    #[serde(default)]
    pub required: bool,
    /// Longest accepted text, in characters (`String` and `Memo` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// The entity a `Lookup` points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub target: Option<LogicalName>,
    /// The choices of a `Picklist`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<PicklistOption>>,
}

/// A record type with its attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(remote = "Self", rename_all = "PascalCase", deny_unknown_fields)]
pub struct EntityDef {
    #[schema(value_type = String, example = "account")]
    pub name: LogicalName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The logical name of the key attribute (the record's `Id`), `{entity}id` by default.
    #[schema(value_type = String, example = "accountid")]
    pub primary_key: LogicalName,
    /// The attribute that names a record, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "name")]
    pub primary_name: Option<LogicalName>,
    pub attributes: Vec<AttributeDef>,
}

/// System fields every record has; filters may name them.
pub const SYSTEM_ATTRIBUTES: [(&str, AttributeType); 2] = [
    ("createdon", AttributeType::DateTime),
    ("modifiedon", AttributeType::DateTime),
];

impl EntityDef {
    pub fn attribute(&self, name: &str) -> Option<&AttributeDef> {
        self.attributes.iter().find(|a| a.name.as_str() == name)
    }

    /// The type of an attribute a filter may name: a declared one or a system field.
    pub fn filterable_type(&self, name: &str) -> Option<AttributeType> {
        self.attribute(name).map(|a| a.kind).or_else(|| {
            SYSTEM_ATTRIBUTES
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| *t)
        })
    }
}

/// Why an entity definition was refused: the attribute at fault and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidDefinition {
    pub attribute: Option<String>,
    pub message: String,
}

impl From<InvalidName> for InvalidDefinition {
    fn from(e: InvalidName) -> Self {
        Self {
            attribute: None,
            message: e.to_string(),
        }
    }
}

/// The body of `PUT …/metadata/entities/{entity}`: the entity's name comes from the path.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EntityDefinitionInput {
    /// The entity's name as GET gives it; when given, it must be the path's.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub primary_key: Option<LogicalName>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub primary_name: Option<LogicalName>,
    #[serde(default)]
    pub attributes: Vec<AttributeDef>,
}

impl EntityDefinitionInput {
    /// Checks the definition as a whole and gives the entity it defines.
    pub fn into_entity(self, name: LogicalName) -> Result<EntityDef, InvalidDefinition> {
        if let Some(given) = self.name.as_deref().map(str::trim) {
            if given != name.as_str() {
                return Err(InvalidDefinition {
                    message: format!(
                        "the body names entity '{given}', the path '{name}': a definition \
                         keeps its name"
                    ),
                    attribute: None,
                });
            }
        }
        let primary_key = match self.primary_key {
            Some(k) => k,
            None => LogicalName::parse(format!("{name}id"))?,
        };
        let entity = EntityDef {
            name,
            display_name: self.display_name,
            primary_key,
            primary_name: self.primary_name,
            attributes: self.attributes,
        };
        entity.check()?;
        Ok(entity)
    }
}

impl EntityDef {
    /// The rules of a definition: unique attribute names, no clash with the key or the system
    /// fields, type-specific settings only where they mean something, a primary name that exists.
    pub fn check(&self) -> Result<(), InvalidDefinition> {
        let fail = |attribute: &str, message: String| InvalidDefinition {
            attribute: Some(attribute.to_owned()),
            message,
        };
        for (i, a) in self.attributes.iter().enumerate() {
            let n = a.name.as_str();
            if self.attributes[..i].iter().any(|b| b.name == a.name) {
                return Err(fail(n, format!("attribute '{n}' is defined twice")));
            }
            if n == self.primary_key.as_str() || SYSTEM_ATTRIBUTES.iter().any(|(s, _)| *s == n) {
                return Err(fail(
                    n,
                    format!("'{n}' is reserved for the record's key or a system field"),
                ));
            }
            if a.max_length.is_some() && !a.kind.is_text() {
                return Err(fail(
                    n,
                    format!("MaxLength is only for String and Memo, not {:?}", a.kind),
                ));
            }
            if a.max_length == Some(0) {
                return Err(fail(n, "MaxLength must be at least 1".to_owned()));
            }
            match (a.kind, &a.target) {
                (AttributeType::Lookup, None) => {
                    return Err(fail(n, format!("Lookup '{n}' needs a Target entity")));
                }
                (AttributeType::Lookup, Some(_)) | (_, None) => {}
                (kind, Some(_)) => {
                    return Err(fail(n, format!("Target is only for Lookup, not {kind:?}")));
                }
            }
            match (a.kind, &a.options) {
                (AttributeType::Picklist, None) => {
                    return Err(fail(n, format!("Picklist '{n}' needs Options")));
                }
                (AttributeType::Picklist, Some(options)) => {
                    if options.is_empty() {
                        return Err(fail(n, format!("Picklist '{n}' needs at least one option")));
                    }
                    for (j, o) in options.iter().enumerate() {
                        if options[..j].iter().any(|p| p.value == o.value) {
                            return Err(fail(n, format!("option value {} appears twice", o.value)));
                        }
                    }
                }
                (_, None) => {}
                (kind, Some(_)) => {
                    return Err(fail(
                        n,
                        format!("Options are only for Picklist, not {kind:?}"),
                    ));
                }
            }
        }
        if let Some(primary) = &self.primary_name {
            match self.attribute(primary.as_str()) {
                Some(a) if a.kind.is_text() => {}
                _ => {
                    return Err(fail(
                        primary.as_str(),
                        format!(
                        "PrimaryName '{primary}' must be a String or Memo attribute of the entity"
                    ),
                    ))
                }
            }
        }
        Ok(())
    }
}

crate::objects_only!(PicklistOption, AttributeDef, EntityDef);
