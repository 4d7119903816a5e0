//! Signing in: a user's name and password (an org's user, or a provider user) for a bearer
//! token.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TokenRequest {
    /// The user's org; absent for a provider user (`orgsync user add --provider`).
    #[serde(default)]
    #[schema(example = "contoso")]
    pub org: Option<String>,
    #[schema(example = "sync@contoso.example")]
    pub user_name: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}
