//! Building [`FilterError`]s: where in the filters a problem is, and the wording shared by the
//! XML and JSON parsers and the validation.

use std::fmt::{self, Write as _};

use super::{FilterError, Operator, INVALID_FILTER, MAX_FILTER_DEPTH};

/// Where in the filters a problem is: builds the [`FilterError`]s.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Ctx<'a> {
    entity: Option<&'a str>,
    attribute: Option<&'a str>,
    operator: Option<&'a str>,
}

impl<'a> Ctx<'a> {
    pub(super) fn entity(entity: &'a str) -> Self {
        Self {
            entity: Some(entity),
            ..Self::default()
        }
    }

    pub(super) fn condition(
        entity: &'a str,
        attribute: &'a str,
        operator: Option<&'a str>,
    ) -> Self {
        Self {
            entity: Some(entity),
            attribute: Some(attribute),
            operator,
        }
    }

    /// The error, its message prefixed by the entity, and by the condition when the detail does
    /// not already name its attribute and operator.
    pub(super) fn fail(&self, detail: impl fmt::Display) -> FilterError {
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

impl FilterError {
    /// The message without its "filter of entity …: " prefix, to re-home it in another context.
    pub(super) fn detail(&self) -> &str {
        self.message
            .split_once(": ")
            .map_or(self.message.as_str(), |(_, rest)| rest)
    }
}

pub(super) fn unknown_operator(s: &str) -> String {
    let known: Vec<&str> = Operator::ALL.iter().map(Operator::as_str).collect();
    format!(
        "unknown operator '{}'; expected one of {}",
        shorten(s),
        known.join(", ")
    )
}

pub(super) fn parse_operator(
    operator: &str,
    entity: &str,
    attribute: &str,
) -> Result<Operator, FilterError> {
    operator.parse().map_err(|_| {
        Ctx::condition(entity, attribute, Some(operator)).fail(format_args!(
            "the condition on attribute '{attribute}' has an {}",
            unknown_operator(operator)
        ))
    })
}

pub(super) fn too_deep(ctx: Ctx<'_>) -> FilterError {
    ctx.fail(format_args!(
        "filters are nested more than {MAX_FILTER_DEPTH} levels deep"
    ))
}

/// A value or name for a message: at most 60 characters.
pub(super) fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}
