//! Who is calling: JWT bearer tokens, roles and the org a token is bound to.

pub mod password;
pub mod throttle;

use futures_util::future::LocalBoxFuture;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Secret;
use crate::db::{users, Db};
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
    /// The org's immutable id: a token of a deleted org, or of a re-created namesake, fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// The user's immutable id: a token of a deleted user fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

/// Who a token is for.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Shown as the job's `AddedBy`.
    pub name: String,
    pub role: Role,
    /// The org's name and immutable id, for an org role.
    pub org: Option<(String, String)>,
    /// The user's immutable id, when a user signed in.
    pub user: Option<String>,
}

impl Subject {
    /// A provider token not bound to a user (the CLI's).
    pub fn provider(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            role: Role::Provider,
            org: None,
            user: None,
        }
    }
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

    /// A token for `who`, valid from now for `ttl`.
    pub fn issue(&self, who: &Subject, ttl: Duration) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: who.name.clone(),
            iat: now,
            nbf: now,
            exp: now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX)),
            role: who.role,
            org: who.org.as_ref().map(|(name, _)| name.clone()),
            oid: who.org.as_ref().map(|(_, uid)| uid.clone()),
            uid: who.user.clone(),
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
        let org = match (claims.role, claims.org.as_deref(), claims.oid) {
            (Role::Provider, _, _) => None,
            (_, Some(org), Some(oid)) => Some((
                OrgName::parse(org)
                    .map_err(|_| ApiError::unauthorized("the bearer token names an invalid org"))?,
                oid,
            )),
            _ => {
                return Err(ApiError::unauthorized(
                    "an org role's token must carry the 'org' and 'oid' claims; sign in again",
                ))
            }
        };
        let (org, org_uid) = org.unzip();
        Ok(Principal {
            subject: claims.sub,
            role: claims.role,
            org,
            org_uid,
            user_uid: claims.uid,
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
    /// The immutable ids the token carries, checked against what is stored on every request.
    org_uid: Option<String>,
    user_uid: Option<String>,
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
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}

/// The caller of a request, from its bearer token (what the [`Principal`] extractor gives):
/// a token whose signature and claims hold, whose org and user still exist as they were when
/// it was issued.
pub async fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let principal = verify(req)?;
    if principal.org_uid.is_none() && principal.user_uid.is_none() {
        return Ok(principal);
    }
    let db = req
        .app_data::<web::Data<Db>>()
        .ok_or_else(|| ApiError::internal("Db missing from app data"))?;
    let (org, org_uid, user_uid) = (
        principal.org.as_ref().map(|o| o.to_string()),
        principal.org_uid.clone(),
        principal.user_uid.clone(),
    );
    let alive = db
        .run(move |conn| {
            users::alive(
                conn,
                org.as_deref(),
                org_uid.as_deref(),
                user_uid.as_deref(),
            )
        })
        .await?;
    if alive {
        Ok(principal)
    } else {
        Err(ApiError::unauthorized(
            "the bearer token's org or user no longer exists; sign in again",
        ))
    }
}

fn verify(req: &HttpRequest) -> Result<Principal, ApiError> {
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
