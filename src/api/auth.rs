//! Tokens for org users, and the provider table.

use actix_web::{get, post, web, HttpRequest};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::responses::Token;
use crate::auth::{password, Principal, Subject};
use crate::db::{orgs, users};
use crate::error::{ApiError, Code, Problem};
use crate::providers::{ProviderInfo, PROVIDERS};
use crate::wire::auth::{TokenRequest, TokenResponse};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(paths(token, providers), tags((name = "Auth", description = "Tokens and providers")))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(token).service(providers);
}

/// Exchanges an org user's name and password for a bearer token.
#[utoipa::path(tag = "Auth", security(()),
    request_body(content((TokenRequest = "application/json"), (TokenRequest = "application/xml"))),
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
    let who = format!("{}\n{}", req.org, req.user_name);
    if let Err(wait) = state.signin.admit(&who, address) {
        let secs = wait.as_secs().max(1);
        return Err(ApiError::new(
            Code::TooManyRequests,
            format!("too many sign-in attempts; try again in {secs} seconds"),
        )
        .with_header(actix_web::http::header::RETRY_AFTER, secs.to_string()));
    }
    let (org_name, user_name) = (req.org.clone(), req.user_name.clone());
    let found = state
        .db
        .run(move |conn| match orgs::find(conn, &org_name)? {
            Some(org) => {
                Ok::<_, ApiError>(users::find(conn, org.id, &user_name)?.map(|u| (org, u)))
            }
            None => Ok(None),
        })
        .await?;
    // A user that does not exist costs a hash check too, so the answer takes as long.
    let stored = found
        .as_ref()
        .map_or(password::dummy_hash().to_owned(), |(_, u)| {
            u.password_hash.clone()
        });
    let given = req.password;
    let matches = web::block(move || password::verify(&given, &stored))
        .await
        .map_err(ApiError::internal)?;
    let Some((org, user)) = found.filter(|_| matches) else {
        state.signin.failed(&who, address);
        return Err(ApiError::new(
            Code::InvalidCredentials,
            "unknown org or user, or wrong password",
        ));
    };
    let ttl = state.settings.token_ttl;
    let subject = Subject {
        name: user.user_name,
        role: user.role,
        org: Some((org.name, org.uid)),
        user: Some(user.uid),
    };
    let access_token = state.jwt.issue(&subject, ttl)?;
    Ok(Reply::ok(TokenResponse {
        access_token,
        token_type: "Bearer".to_owned(),
        expires_in: ttl.as_secs(),
    }))
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
