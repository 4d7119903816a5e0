//! The transaction queue of a client org and its conflicts.

use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::connection::MANAGERS;
use super::responses::{AdminAction, AdminWrite, Read, ReadQuery};
use super::{split_page, OrgPath, PageQuery};
use crate::auth::Principal;
use crate::db::transactions::{self as tx, TxFilter, TxRow};
use crate::db::{micros_to_datetime, orgs, DbConn, DbResult, Json};
use crate::domain::error::transaction_not_found;
use crate::domain::transaction::{Resolution, TxError, TxOp, TxStatus};
use crate::error::{ApiError, Code, Problem};
use crate::wire::batch::TransactionReceipt;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list_transactions, get_transaction, set_to_pending, set_to_archived, set_all_to_pending),
    components(schemas(TxStatus, TxOp, TxError, Resolution, TransactionReceipt)),
    tags((name = "Transactions", description = "Client writes on their way to the server, and conflicts"))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(set_to_pending)
        .service(set_to_archived)
        .service(set_all_to_pending)
        .service(list_transactions)
        .service(get_transaction);
}

/// A transaction on the wire.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Transaction {
    pub transaction_id: String,
    pub entity: String,
    pub record_id: String,
    pub operation: TxOp,
    /// The attributes the write changed (a cleared one as null).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Value>,
    /// The server's version of the record the client wrote on.
    pub base_version: i64,
    pub status: TxStatus,
    pub tries: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TxError>,
    /// How a conflict was settled (`ServerWins`, `ClientWins`, …) or `Collapsed` (created and
    /// deleted before delivery: the server never needed to hear of it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// Sent, its answer not known yet: it will be sent again as it was.
    pub in_flight: bool,
    pub created_on: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processed_on: Option<DateTime<Utc>>,
}

impl From<TxRow> for Transaction {
    fn from(row: TxRow) -> Self {
        Self {
            status: row.status,
            attributes: row.attributes.map(|a| Value::Object(a.into_inner())),
            error: row.error.map(Json::into_inner),
            in_flight: row.batch_key.is_some() && row.status != TxStatus::Processed,
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
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `Next` of the previous page.
    #[param(
        pattern = "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$",
        max_length = 1024
    )]
    pub cursor: Option<String>,
}

fn org_id(conn: &mut DbConn, org: &str) -> DbResult<i64> {
    Ok(orgs::require(conn, org)?.id)
}

/// The org's transactions in creation order.
#[utoipa::path(tag = "Transactions", security(("bearer" = [])), params(OrgPath, TxQuery),
    responses(
        (status = 200, content((TransactionList = "application/json"), (TransactionList = "application/xml"))),
        ReadQuery,
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
    let (rows, next) = split_page(rows, limit, |r: &TxRow| r.id.clone());
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
        Read,
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
            Ok::<_, ApiError>(
                tx::get(conn, org_id, &id)?.ok_or_else(|| transaction_not_found(&id))?,
            )
        })
        .await?;
    Ok(Reply::ok(Transaction::from(row)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TxIds {
    #[schema(min_items = 1, max_items = 10000)]
    pub ids: Vec<String>,
}

/// One of the queue's status changes (`SetToPending`, `SetToArchived`).
type StatusChange = fn(&mut DbConn, i64, &[String]) -> DbResult<Vec<TxRow>>;

async fn set_status(
    who: Principal,
    state: web::Data<AppState>,
    org: String,
    ids: Vec<String>,
    change: StatusChange,
) -> Result<Reply<TransactionList>, ApiError> {
    who.require(&org, MANAGERS)?;
    if ids.is_empty() || ids.len() > 10_000 {
        return Err(
            ApiError::new(Code::InvalidField, "Ids holds 1 to 10000 transaction ids").field("Ids"),
        );
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
    request_body(content(
        (TxIds = "application/json", example = json!({"Ids": ["0b6e1c3a-58d2-4f0e-b7a4-2c9d8e1f6a35"]})),
        (TxIds = "application/xml", example = json!("<TxIds><Ids><Id>0b6e1c3a-58d2-4f0e-b7a4-2c9d8e1f6a35</Id></Ids></TxIds>")),
    )),
    responses(
        (status = 200, content((TransactionList = "application/json"), (TransactionList = "application/xml"))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "A transaction is already processed"),
        AdminWrite,
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
    request_body(content(
        (TxIds = "application/json", example = json!({"Ids": ["0b6e1c3a-58d2-4f0e-b7a4-2c9d8e1f6a35"]})),
        (TxIds = "application/xml", example = json!("<TxIds><Ids><Id>0b6e1c3a-58d2-4f0e-b7a4-2c9d8e1f6a35</Id></Ids></TxIds>")),
    )),
    responses(
        (status = 200, content((TransactionList = "application/json"), (TransactionList = "application/xml"))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "A transaction is processed or in flight"),
        AdminWrite,
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
        AdminAction,
    ))]
#[post("/rest/v1/sync/{org}/transactions/SetAllToPending")]
async fn set_all_to_pending(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<Updated>, ApiError> {
    who.require(&path.org, MANAGERS)?;
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
