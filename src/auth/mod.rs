//! Who is calling: JWT bearer tokens, roles and the org a token is bound to.

pub mod password;

use std::future::{ready, Ready};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
pub use crate::domain::access::Role;
use crate::domain::error::org_not_found;
use crate::domain::names::OrgName;
use crate::error::ApiError;

pub const ISSUER: &str = "orgsync";
pub const AUDIENCE: &str = "orgsync";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
}

/// Signs and checks tokens with the configured secret (HS256 only: an `alg` other than the
/// one expected, `none` included, is refused).
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &Secret) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 30;
        Self {
            encoding: EncodingKey::from_secret(secret.expose()),
            decoding: DecodingKey::from_secret(secret.expose()),
            validation,
        }
    }

    /// A token for `sub` with `role`, bound to `org` when given, valid from now for `ttl`.
    pub fn issue(
        &self,
        sub: &str,
        role: Role,
        org: Option<&str>,
        ttl: Duration,
    ) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: sub.to_owned(),
            iat: now,
            nbf: now,
            exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            role,
            org: org.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal(format!("signing a token: {e}")))
    }

    pub fn verify(&self, token: &str) -> Result<Principal, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| {
                ApiError::unauthorized(format!("the bearer token is not valid: {}", describe(&e)))
            })?;
        let claims = data.claims;
        let org = match (claims.role, claims.org.as_deref()) {
            (Role::Provider, _) => None,
            (_, Some(org)) => Some(
                OrgName::parse(org)
                    .map_err(|_| ApiError::unauthorized("the bearer token names an invalid org"))?,
            ),
            (_, None) => {
                return Err(ApiError::unauthorized(
                    "an org role's token must carry the 'org' claim",
                ))
            }
        };
        Ok(Principal {
            subject: claims.sub,
            role: claims.role,
            org,
        })
    }
}

fn describe(e: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "it has expired",
        ErrorKind::ImmatureSignature => "it is not valid yet",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm => "algorithm not accepted",
        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
        _ => "malformed token",
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    /// The org an org role is bound to; `None` for the provider.
    pub org: Option<OrgName>,
}

impl Principal {
    pub fn is_provider(&self) -> bool {
        self.role == Role::Provider
    }

    /// Checks that the caller may see `org` at all. A token bound to another org gets the same
    /// 404 as an org that does not exist, so it learns nothing of other orgs.
    pub fn can_see(&self, org: &str) -> Result<(), ApiError> {
        match &self.org {
            None if self.is_provider() => Ok(()),
            Some(own) if own.as_str() == org => Ok(()),
            _ => Err(org_not_found(org).into()),
        }
    }

    /// Checks that the caller sees `org` and holds one of `roles` (403 when it sees the org
    /// but may not do this).
    pub fn require(&self, org: &str, roles: &[Role]) -> Result<(), ApiError> {
        self.can_see(org)?;
        self.require_role(roles)
    }

    pub fn require_role(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "this needs the role {}; the token has {}",
                names.join(" or "),
                self.role.as_str()
            )))
        }
    }
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(req))
    }
}

/// The caller of a request, from its bearer token (what the [`Principal`] extractor gives).
pub fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let keys = req
        .app_data::<web::Data<JwtKeys>>()
        .ok_or_else(|| ApiError::internal("JwtKeys missing from app data"))?;
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("this needs an 'Authorization: Bearer <token>' header")
    })?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be 'Bearer <token>'")
        })?;
    keys.verify(token)
}
