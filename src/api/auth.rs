//! Tokens for org users and provider users, and the provider table.

use actix_web::{get, post, web, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::responses::Token;
use crate::auth::{password, Principal, Role, Subject};
use crate::db::{orgs, users};
use crate::error::{ApiError, Code, Problem};
use crate::providers::{ProviderInfo, PROVIDERS};
use crate::wire::auth::{TokenRequest, TokenResponse};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(paths(token, providers), tags((name = "Auth", description = "Tokens and providers")))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/rest/v1/auth/token")
            .guard(actix_web::guard::fn_guard(is_form))
            .route(web::post().to(password_grant)),
    )
    .service(token)
    .service(providers);
}

/// Exchanges a user's name and password for a bearer token: an org's user with `Org`, a
/// provider user (made with `orgsync user add --provider NAME`) without it.
#[utoipa::path(tag = "Auth", security(()),
    request_body(content(
        (TokenRequest = "application/json", example = json!({"Org": "contoso", "UserName": "sync@contoso.example", "Password": "correct horse battery staple"})),
        (TokenRequest = "application/xml", example = json!("<TokenRequest><Org>contoso</Org><UserName>sync@contoso.example</UserName><Password>correct horse battery staple</Password></TokenRequest>")),
    )),
    responses(
        (status = 200, content((TokenResponse = "application/json"), (TokenResponse = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Unknown org, user or wrong password"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json", description = "The body is neither JSON nor XML (or there is none)"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Too many sign-in attempts for the user or from the address; `Retry-After` says when to try again"),
    ))]
#[post("/rest/v1/auth/token")]
async fn token(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: Body<TokenRequest>,
) -> Result<Reply<TokenResponse>, ApiError> {
    let req = body.into_inner();
    let address = http.peer_addr().map(|a| a.ip());
    let (access_token, ttl) =
        sign_in(&state, address, req.org, req.user_name, req.password).await?;
    Ok(Reply::ok(TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: ttl.as_secs(),
    }))
}

/// The OAuth2 password grant (RFC 6749 §4.3) on the same URL, for Swagger UI's Authorize
/// dialog and OAuth2 clients: a form of `grant_type=password`, `username` and `password`,
/// answered in OAuth2's own words. `username` is `org/user` for an org's user and the bare
/// name for a provider user.
#[derive(Debug, Deserialize)]
struct PasswordGrant {
    grant_type: String,
    username: String,
    password: String,
}

#[derive(Debug, Serialize)]
struct OAuthToken {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

async fn password_grant(
    state: web::Data<AppState>,
    http: HttpRequest,
    form: web::Form<PasswordGrant>,
) -> Result<web::Json<OAuthToken>, ApiError> {
    let form = form.into_inner();
    if form.grant_type != "password" {
        return Err(ApiError::new(
            Code::InvalidField,
            format!(
                "grant_type '{}' is not supported; use password",
                form.grant_type
            ),
        )
        .field("grant_type"));
    }
    let (org, user) = match form.username.split_once('/') {
        Some((org, user)) => (Some(org.to_owned()), user.to_owned()),
        None => (None, form.username),
    };
    let address = http.peer_addr().map(|a| a.ip());
    let (access_token, ttl) = sign_in(&state, address, org, user, form.password).await?;
    Ok(web::Json(OAuthToken {
        access_token,
        token_type: "bearer",
        expires_in: ttl.as_secs(),
    }))
}

/// Whether a request is a form, which the password grant takes.
fn is_form(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Checks a user's password and signs a token for it: an org's user when `org` is given, a
/// provider user when not. Failures are throttled per user name and per address, and an
/// unknown user costs as long as a wrong password.
async fn sign_in(
    state: &AppState,
    address: Option<std::net::IpAddr>,
    org: Option<String>,
    user_name: String,
    secret: String,
) -> Result<(String, std::time::Duration), ApiError> {
    let who = format!("{}\n{}", org.as_deref().unwrap_or_default(), user_name);
    if let Err(wait) = state.signin.admit(&who, address) {
        let secs = wait.as_secs().max(1);
        return Err(ApiError::new(
            Code::TooManyRequests,
            format!("too many sign-in attempts; try again in {secs} seconds"),
        )
        .with_header(actix_web::http::header::RETRY_AFTER, secs.to_string()));
    }
    let (org_name, user_name) = (org, user_name);
    let found = state
        .db
        .run(move |conn| match org_name {
            None => Ok::<_, ApiError>(users::find_provider(conn, &user_name)?.map(|u| {
                let subject = Subject {
                    name: u.user_name,
                    role: Role::Provider,
                    org: None,
                    user: Some(u.uid),
                };
                (subject, u.password_hash)
            })),
            Some(org_name) => Ok(match orgs::find(conn, &org_name)? {
                Some(org) => users::find(conn, org.id, &user_name)?.map(|u| {
                    let subject = Subject {
                        name: u.user_name,
                        role: u.role,
                        org: Some((org.name, org.uid)),
                        user: Some(u.uid),
                    };
                    (subject, u.password_hash)
                }),
                None => None,
            }),
        })
        .await?;
    // A user that does not exist costs a hash check too, so the answer takes as long.
    let stored = found
        .as_ref()
        .map_or(password::dummy_hash().to_owned(), |(_, hash)| hash.clone());
    let given = secret;
    let matches = web::block(move || password::verify(&given, &stored))
        .await
        .map_err(ApiError::internal)?;
    let Some((subject, _)) = found.filter(|_| matches) else {
        state.signin.failed(&who, address);
        return Err(ApiError::new(
            Code::InvalidCredentials,
            "unknown org or user, or wrong password",
        ));
    };
    let ttl = state.settings.token_ttl;
    Ok((state.jwt.issue(&subject, ttl)?, ttl))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ProviderList {
    pub providers: Vec<ProviderInfo>,
}

/// The backends a connection can reach.
#[utoipa::path(tag = "Auth", security(("bearer" = [])), responses(
    (status = 200, content((ProviderList = "application/json"), (ProviderList = "application/xml"))),
    Token,
))]
#[get("/rest/v1/providers")]
async fn providers(_who: Principal) -> Reply<ProviderList> {
    Reply::ok(ProviderList {
        providers: PROVIDERS.to_vec(),
    })
}
