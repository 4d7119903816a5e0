//! The overviews an admin starts from: every connection with its state, lag and queues, and
//! an org's transactions counted by status (the console's tabs).

use actix_web::{get, web};
use utoipa::OpenApi;

use super::body::Reply;
use super::responses::{Read, Token};
use super::OrgPath;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::wire::overview::{ActiveJob, ConnectionList, ConnectionSummary, TransactionCounts};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list_connections, transaction_counts),
    components(schemas(ConnectionList, ConnectionSummary, ActiveJob, TransactionCounts))
)]
pub struct Doc;

/// Registered before the transactions' routes: `counts` is not a transaction id.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_connections).service(transaction_counts);
}

/// Every client org's connection with its state, provider, last sync and lag, its pending and
/// refused transactions, its held jobs and the job it runs now. The provider sees every org;
/// an org's users see their own.
#[utoipa::path(tag = "Sync", security(("bearer" = [])),
    responses(
        (status = 200, content((ConnectionList = "application/json"), (ConnectionList = "application/xml"))),
        Token,
    ))]
#[get("/rest/v1/sync/connections")]
async fn list_connections(
    who: Principal,
    state: web::Data<AppState>,
) -> Result<Reply<ConnectionList>, ApiError> {
    let only = match (&who.org, who.is_provider()) {
        (_, true) => None,
        (Some(org), false) => Some(org.to_string()),
        (None, false) => return Err(ApiError::forbidden("this token names no org".to_owned())),
    };
    let connections = state.engine.connections_overview(only).await?;
    Ok(Reply::ok(ConnectionList { connections }))
}

/// How many of the org's transactions are in each status, and in all.
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, content((TransactionCounts = "application/json"), (TransactionCounts = "application/xml"))),
        Read,
    ))]
#[get("/rest/v1/sync/{org}/transactions/counts")]
async fn transaction_counts(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<TransactionCounts>, ApiError> {
    who.can_see(&path.org)?;
    Ok(Reply::ok(state.engine.transaction_counts(&path.org).await?))
}
