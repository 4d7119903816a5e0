//! Who may do what: the roles a token carries.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Operates the whole service.
    Provider,
    /// Administers one org.
    OrgAdmin,
    /// Reads and writes one org's data.
    OrgUser,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::OrgAdmin => "org_admin",
            Self::OrgUser => "org_user",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "provider" => Some(Self::Provider),
            "org_admin" => Some(Self::OrgAdmin),
            "org_user" => Some(Self::OrgUser),
            _ => None,
        }
    }
}
