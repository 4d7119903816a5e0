//! The transaction queue of a client org and its conflicts.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::{encode_cursor, OrgPath, PageQuery};
use crate::auth::{Principal, Role};
use crate::db::transactions::{self as tx, ConflictRow, TxFilter, TxOp, TxRow, TxStatus};
use crate::db::{micros_to_datetime, orgs, write_tx, DbConn};
use crate::error::{ApiError, Problem};
use crate::sync::upload::{self, TransactionReceipt};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list_transactions, get_transaction, set_to_pending, set_to_archived, set_all_to_pending, list_conflicts, resolve_conflict),
    components(schemas(TxStatus, TxOp, TransactionReceipt)),
    tags((name = "Transactions", description = "Client writes on their way to the server, and conflicts"))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(set_to_pending)
        .service(set_to_archived)
        .service(set_all_to_pending)
        .service(list_transactions)
        .service(get_transaction)
        .service(list_conflicts)
        .service(resolve_conflict);
}

/// A transaction on the wire.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Transaction {
    pub transaction_id: String,
    pub entity: String,
    pub record_id: String,
    pub operation: String,
    /// The attributes the write changed (a cleared one as null).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Value>,
    /// The server's version of the record the client wrote on.
    pub base_version: i64,
    pub status: TxStatus,
    pub tries: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
    /// How a conflict was settled (`ServerWins`, `ClientWins`, …) or `Collapsed` (created and
    /// deleted before delivery: the server never needed to hear of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Sent, its answer not known yet: it will be sent again as it was.
    pub in_flight: bool,
    pub created_on: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processed_on: Option<DateTime<Utc>>,
}

impl From<TxRow> for Transaction {
    fn from(row: TxRow) -> Self {
        Self {
            status: row.status(),
            attributes: row
                .attributes
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok()),
            error: row
                .error
                .as_deref()
                .and_then(|e| serde_json::from_str(e).ok()),
            in_flight: row.batch_key.is_some() && row.status() != TxStatus::Processed,
            transaction_id: row.id,
            entity: row.entity,
            record_id: row.record_id,
            operation: row.operation,
            base_version: row.base_version,
            tries: row.tries,
            resolution: row.resolution,
            created_on: micros_to_datetime(row.created_on),
            processed_on: row.processed_on.map(micros_to_datetime),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TransactionList {
    pub transactions: Vec<Transaction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TxQuery {
    pub status: Option<TxStatus>,
    pub entity: Option<String>,
    /// 1 to 1000 (100 when absent).
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn org_id(conn: &mut DbConn, org: &str) -> Result<i64, ApiError> {
    Ok(orgs::require(conn, org)?.id)
}

/// The org's transactions in creation order.
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(OrgPath, TxQuery),
    responses(
        (status = 200, content((TransactionList = "application/json"), (TransactionList = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/rest/v1/sync/{org}/transactions")]
async fn list_transactions(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    query: web::Query<TxQuery>,
) -> Result<Reply<TransactionList>, ApiError> {
    who.can_see(&path.org)?;
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let limit = page.limit()?;
    let filter = TxFilter {
        status: query.status,
        entity: query.entity,
        after: page.after()?,
    };
    let org = path.into_inner().org;
    let rows = state
        .db
        .run(move |conn| {
            let id = org_id(conn, &org)?;
            tx::list(conn, id, &filter, limit + 1)
        })
        .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<TxRow> = rows.into_iter().take(limit as usize).collect();
    let next = if more {
        rows.last().map(|r| encode_cursor(&r.id))
    } else {
        None
    };
    Ok(Reply::ok(TransactionList {
        transactions: rows.into_iter().map(Transaction::from).collect(),
        next,
    }))
}

/// `{org}/transactions/{id}` in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TxPath {
    pub org: String,
    /// The transaction's (or conflict's) id.
    pub id: String,
}

/// One transaction with its error and tries.
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(TxPath),
    responses(
        (status = 200, content((Transaction = "application/json"), (Transaction = "application/xml"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/rest/v1/sync/{org}/transactions/{id}")]
async fn get_transaction(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<TxPath>,
) -> Result<Reply<Transaction>, ApiError> {
    who.can_see(&path.org)?;
    let TxPath { org, id } = path.into_inner();
    let row = state
        .db
        .run(move |conn| {
            let org_id = org_id(conn, &org)?;
            tx::get(conn, org_id, &id)?.ok_or_else(|| tx::tx_not_found(&id))
        })
        .await?;
    Ok(Reply::ok(Transaction::from(row)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TxIds {
    pub ids: Vec<String>,
}

/// One of the queue's status changes (`SetToPending`, `SetToArchived`).
type StatusChange = fn(&mut DbConn, i64, &[String]) -> Result<Vec<TxRow>, ApiError>;

async fn set_status(
    who: Principal,
    state: web::Data<AppState>,
    org: String,
    ids: Vec<String>,
    change: StatusChange,
) -> Result<Reply<TransactionList>, ApiError> {
    who.require(&org, &[Role::Provider, Role::OrgAdmin])?;
    if ids.is_empty() || ids.len() > 10_000 {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "Ids holds 1 to 10000 transaction ids",
        )
        .with("field", "Ids"));
    }
    let rows = state
        .db
        .run(move |conn| {
            let org_id = org_id(conn, &org)?;
            change(conn, org_id, &ids)
        })
        .await?;
    Ok(Reply::ok(TransactionList {
        transactions: rows.into_iter().map(Transaction::from).collect(),
        next: None,
    }))
}

/// Puts errored or archived transactions back in the queue; gives the updated ones.
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(OrgPath),
    request_body(content((TxIds = "application/json"), (TxIds = "application/xml"))),
    responses(
        (status = 200, content((TransactionList = "application/json"), (TransactionList = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "A transaction is already processed"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/rest/v1/sync/{org}/transactions/SetToPending")]
async fn set_to_pending(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<TxIds>,
) -> Result<Reply<TransactionList>, ApiError> {
    set_status(
        who,
        state,
        path.into_inner().org,
        body.into_inner().ids,
        tx::set_pending,
    )
    .await
}

/// Sets transactions aside: archived ones are never delivered; gives the updated ones.
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(OrgPath),
    request_body(content((TxIds = "application/json"), (TxIds = "application/xml"))),
    responses(
        (status = 200, content((TransactionList = "application/json"), (TransactionList = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "A transaction is processed or in flight"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/rest/v1/sync/{org}/transactions/SetToArchived")]
async fn set_to_archived(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<TxIds>,
) -> Result<Reply<TransactionList>, ApiError> {
    set_status(
        who,
        state,
        path.into_inner().org,
        body.into_inner().ids,
        tx::set_archived,
    )
    .await
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Updated {
    pub updated: usize,
}

/// Puts every errored transaction back in the queue.
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, content((Updated = "application/json"), (Updated = "application/xml"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/rest/v1/sync/{org}/transactions/SetAllToPending")]
async fn set_all_to_pending(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<Updated>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let org = path.into_inner().org;
    let updated = state
        .db
        .run(move |conn| {
            let org_id = org_id(conn, &org)?;
            tx::set_all_pending(conn, org_id)
        })
        .await?;
    Ok(Reply::ok(Updated { updated }))
}

/// A conflict on the wire: both versions of the record.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Conflict {
    pub conflict_id: String,
    pub transaction_id: String,
    pub entity: String,
    pub record_id: String,
    /// The attributes the client changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub client_attributes: Option<Value>,
    /// The server's record when the conflict was found (absent: the server deleted it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub server_record: Option<Value>,
    /// `Open` or `Resolved`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    pub created_on: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_on: Option<DateTime<Utc>>,
}

impl From<ConflictRow> for Conflict {
    fn from(row: ConflictRow) -> Self {
        Self {
            client_attributes: row
                .client_attributes
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok()),
            server_record: row
                .server_record
                .as_deref()
                .and_then(|a| serde_json::from_str(a).ok()),
            conflict_id: row.id,
            transaction_id: row.transaction_id,
            entity: row.entity,
            record_id: row.record_id,
            status: row.status,
            resolution: row.resolution,
            created_on: micros_to_datetime(row.created_on),
            resolved_on: row.resolved_on.map(micros_to_datetime),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ConflictList {
    pub conflicts: Vec<Conflict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ConflictQuery {
    /// Resolved ones too (open ones only when absent).
    pub all: Option<bool>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Conflicts parked by the Manual policy.
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(OrgPath, ConflictQuery),
    responses(
        (status = 200, content((ConflictList = "application/json"), (ConflictList = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/rest/v1/sync/{org}/conflicts")]
async fn list_conflicts(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    query: web::Query<ConflictQuery>,
) -> Result<Reply<ConflictList>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let query = query.into_inner();
    let page = PageQuery {
        limit: query.limit,
        cursor: query.cursor,
    };
    let (limit, after) = (page.limit()?, page.after()?);
    let open_only = !query.all.unwrap_or(false);
    let org = path.into_inner().org;
    let rows = state
        .db
        .run(move |conn| {
            let org_id = org_id(conn, &org)?;
            tx::conflicts(conn, org_id, open_only, after.as_deref(), limit + 1)
        })
        .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<ConflictRow> = rows.into_iter().take(limit as usize).collect();
    let next = if more {
        rows.last().map(|r| encode_cursor(&r.id))
    } else {
        None
    };
    Ok(Reply::ok(ConflictList {
        conflicts: rows.into_iter().map(Conflict::from).collect(),
        next,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
pub enum Take {
    /// The server's record stays and comes to the client; the client's change is archived.
    Server,
    /// The client's whole record goes to the server.
    Client,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Resolve {
    pub take: Take,
}

/// Settles a conflict: `Server` archives the client's change and brings the server's record;
/// `Client` sends the client's record (at once when writes are not offline).
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(TxPath),
    request_body(content((Resolve = "application/json"), (Resolve = "application/xml"))),
    responses(
        (status = 200, content((Conflict = "application/json"), (Conflict = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "Already resolved"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json", description = "The server could not be reached to read its record"),
    ))]
#[post("/rest/v1/sync/{org}/conflicts/{id}/Resolve")]
async fn resolve_conflict(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<TxPath>,
    body: Body<Resolve>,
) -> Result<Reply<Conflict>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let TxPath { org, id } = path.into_inner();
    let take = body.into_inner().take;
    let (org_id, row, connection) = state
        .db
        .run(move |conn| {
            let org_id = org_id(conn, &org)?;
            let row = tx::conflict(conn, org_id, &id)?;
            let connection = crate::db::connections::get(conn, org_id)?
                .ok_or_else(|| crate::db::connections::not_connected(&org))?;
            Ok((org_id, row, connection))
        })
        .await?;
    if row.status != "Open" {
        return Err(ApiError::conflict(
            "conflict_resolved",
            format!("conflict '{}' is already resolved", row.id),
        ));
    }
    let provider = crate::sync::provider_for(&state, &connection).map_err(|e| {
        ApiError::new(
            actix_web::http::StatusCode::BAD_GATEWAY,
            "server_unavailable",
            e.message,
        )
    })?;
    let (entity, record_id, conflict_id) =
        (row.entity.clone(), row.record_id.clone(), row.id.clone());
    let chain_of = move |conn: &mut DbConn| -> Result<Vec<String>, ApiError> {
        Ok(tx::open_chain(conn, org_id, &entity, &record_id)?
            .into_iter()
            .map(|t| t.id)
            .collect())
    };
    match take {
        Take::Server => {
            let server = provider.record(&row.entity, &row.record_id).await?;
            let cid = conflict_id.clone();
            state
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| {
                        let ids = chain_of(conn)?;
                        tx::set_archived_resolved(conn, &ids, "Server")?;
                        tx::close_conflict(conn, &cid, "Server")
                    })
                })
                .await?;
            upload::refresh(&state, org_id, &row.entity, &row.record_id, server).await?;
        }
        Take::Client => {
            let cid = conflict_id.clone();
            let ids = state
                .db
                .run(move |conn| {
                    write_tx(conn, |conn| {
                        let ids = chain_of(conn)?;
                        tx::settle_conflict(conn, &ids, "ClientWinsFull", true)?;
                        tx::close_conflict(conn, &cid, "Client")?;
                        Ok(ids)
                    })
                })
                .await?;
            upload::deliver_now(&state, org_id, ids).await;
        }
    }
    let cid = conflict_id;
    let row = state
        .db
        .run(move |conn| tx::conflict(conn, org_id, &cid))
        .await?;
    Ok(Reply::ok(Conflict::from(row)))
}
