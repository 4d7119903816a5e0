//! Records of an entity: list, create, read, replace, change, delete, with `ETag`/`If-Match`.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, Format, Reply};
use super::{encode_cursor, EntityPath, PageQuery, RecordPath};
use crate::auth::Principal;
use crate::db::records::{self, Applied, Precondition, RecordRow, WriteKind, WriteOp};
use crate::db::{metadata, micros_to_datetime, orgs, transactions, write_tx, DbConn};
use crate::domain::names::RecordId;
use crate::domain::record::{normalize, InvalidRecord};
use crate::error::{ApiError, Problem};
use crate::sync::upload::{self, TransactionReceipt};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list_records, create_record, get_record, replace_record, update_record, delete_record),
    tags((name = "Records", description = "Records of an entity, validated against the metadata"))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_records)
        .service(create_record)
        .service(get_record)
        .service(replace_record)
        .service(update_record)
        .service(delete_record);
}

/// A record on the wire.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    pub id: String,
    pub entity: String,
    /// The org change version of the record's last write; its `ETag` is `"<Version>"`.
    pub version: i64,
    pub created_on: DateTime<Utc>,
    pub modified_on: DateTime<Utc>,
    /// Attribute values by logical name.
    #[schema(value_type = Object)]
    pub attributes: Box<RawValue>,
    /// On a client org: the server's version of the record when it was last exchanged (it
    /// equals the server record's `Version` while neither side changed it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<i64>,
    /// On a connected client org: what became of the write's transaction to the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<TransactionReceipt>,
}

impl Record {
    pub fn from_row(row: RecordRow) -> Result<Self, ApiError> {
        Ok(Self {
            attributes: RawValue::from_string(row.attributes).map_err(ApiError::internal)?,
            id: row.id,
            entity: row.entity,
            version: row.version,
            created_on: micros_to_datetime(row.created_on),
            modified_on: micros_to_datetime(row.modified_on),
            server_version: row.server_version,
            transaction: None,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RecordPage {
    pub records: Vec<Record>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// A record as written. `Id` is taken from the path when there is one; `Entity`, `Version`,
/// `CreatedOn` and `ModifiedOn` are accepted so a read record can be sent back, and are
/// otherwise ignored (the service sets them).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RecordInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub entity: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub created_on: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub modified_on: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
}

/// The problem for a write that does not fit the metadata.
pub fn invalid_record(entity: &str, e: InvalidRecord) -> ApiError {
    ApiError::unprocessable(e.code, e.message)
        .with("entity", entity)
        .with("attribute", e.attribute)
}

/// One write through the shared write path, from an API call.
struct OneWrite {
    org: String,
    entity: String,
    id: RecordId,
    kind: WriteKind,
    attributes: Map<String, Value>,
    format: Format,
    precondition: Precondition,
}

/// A write's result, with the transactions it queued for the server.
struct Written {
    applied: Applied,
    org_id: i64,
    transactions: Vec<String>,
}

fn write_one(conn: &mut DbConn, w: OneWrite) -> Result<Written, ApiError> {
    let org = orgs::require(conn, &w.org)?;
    let def = metadata::require_entity(conn, org.id, &w.entity)?;
    let attributes = normalize(&def, &w.attributes, w.format.source())
        .map_err(|e| invalid_record(&w.entity, e))?;
    let defs = HashMap::from([(w.entity.clone(), def)]);
    let op = WriteOp {
        entity: w.entity,
        id: w.id,
        kind: w.kind,
        attributes,
        precondition: w.precondition,
        server_version: None,
    };
    let (mut results, captured) = write_tx(conn, |conn| {
        transactions::write_and_capture(conn, org.id, &defs, std::slice::from_ref(&op))
    })?;
    let applied = results
        .pop()
        .unwrap_or_else(|| Err(ApiError::internal("a write gave no result")))?;
    Ok(Written {
        applied,
        org_id: org.id,
        transactions: captured.into_iter().map(|t| t.id).collect(),
    })
}

/// Delivers the write's transaction when the connection says so, and tells what became of it.
async fn deliver(state: &AppState, written: &Written) -> Option<TransactionReceipt> {
    upload::deliver_now(state, written.org_id, written.transactions.clone())
        .await
        .pop()
}

fn receipt_headers<T: serde::Serialize>(
    reply: Reply<T>,
    receipt: Option<&TransactionReceipt>,
) -> Reply<T> {
    match receipt {
        Some(r) => reply
            .header(
                header::HeaderName::from_static("transaction-id"),
                r.transaction_id.clone(),
            )
            .header(
                header::HeaderName::from_static("transaction-status"),
                r.status.clone(),
            ),
        None => reply,
    }
}

fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

fn record_reply(
    applied: Applied,
    org: &str,
    receipt: Option<TransactionReceipt>,
) -> Result<Reply<Record>, ApiError> {
    let created = matches!(applied, Applied::Created(_));
    let row = match applied {
        Applied::Created(r) | Applied::Updated(r) | Applied::Deleted(r) => r,
    };
    let location = format!(
        "/rest/v1/orgs/{org}/entities/{}/records/{}",
        row.entity, row.id
    );
    let tag = etag(row.version);
    let mut record = Record::from_row(row)?;
    let headers = receipt.clone();
    record.transaction = receipt;
    let reply = if created {
        Reply::created(record).header(header::LOCATION, location)
    } else {
        Reply::ok(record)
    };
    Ok(receipt_headers(reply, headers.as_ref()).header(header::ETAG, tag))
}

/// `If-Match`: absent, `*`, or one entity tag `"<Version>"` (weak or strong).
fn precondition(req: &HttpRequest) -> Result<Precondition, ApiError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(Precondition::None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(Precondition::Exists);
    }
    text.trim_start_matches("W/")
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<i64>().ok())
        .map(Precondition::Version)
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_if_match",
                "If-Match must be * or one entity tag \"<Version>\"",
            )
            .with("field", "If-Match")
        })
}

fn path_id(path: &RecordPath) -> Result<RecordId, ApiError> {
    RecordId::parse(path.id.as_str()).map_err(|_| records::record_not_found(&path.entity, &path.id))
}

fn body_id(input: &RecordInput, path_id: Option<&RecordId>) -> Result<Option<RecordId>, ApiError> {
    let Some(given) = &input.id else {
        return Ok(path_id.cloned());
    };
    let id = RecordId::parse(given.as_str()).map_err(|e| ApiError::from(e).with("field", "Id"))?;
    match path_id {
        Some(p) if *p != id => Err(ApiError::unprocessable(
            "id_mismatch",
            format!("body Id '{id}' differs from the path's '{p}'"),
        )
        .with("field", "Id")),
        _ => Ok(Some(id)),
    }
}

fn check_entity(input: &RecordInput, entity: &str) -> Result<(), ApiError> {
    match &input.entity {
        Some(e) if e != entity => Err(ApiError::unprocessable(
            "entity_mismatch",
            format!("body Entity '{e}' differs from the path's '{entity}'"),
        )
        .with("field", "Entity")),
        _ => Ok(()),
    }
}

/// A page of live records in a stable order (by id).
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(EntityPath, PageQuery),
    responses(
        (status = 200, content((RecordPage = "application/json"), (RecordPage = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/rest/v1/orgs/{org}/entities/{entity}/records")]
async fn list_records(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<EntityPath>,
    page: web::Query<PageQuery>,
) -> Result<Reply<RecordPage>, ApiError> {
    who.can_see(&path.org)?;
    let limit = page.limit()?;
    let after = page.after()?;
    let EntityPath { org, entity } = path.into_inner();
    let rows = state
        .db
        .run(move |conn| {
            let org = orgs::require(conn, &org)?;
            metadata::require_entity(conn, org.id, &entity)?;
            records::list(conn, org.id, &entity, after.as_deref(), limit + 1)
        })
        .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<RecordRow> = rows.into_iter().take(limit as usize).collect();
    let next = if more {
        rows.last().map(|r| encode_cursor(&r.id))
    } else {
        None
    };
    let records = rows
        .into_iter()
        .map(Record::from_row)
        .collect::<Result<_, _>>()?;
    Ok(Reply::ok(RecordPage { records, next }))
}

/// Creates a record; without `Id` it gets a new UUIDv7.
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(EntityPath),
    request_body(content((RecordInput = "application/json"), (RecordInput = "application/xml"))),
    responses(
        (status = 201, content((Record = "application/json"), (Record = "application/xml")), headers(("ETag" = String), ("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "A record with this Id exists"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "The record does not fit the metadata; `attribute` names the field"),
    ))]
#[post("/rest/v1/orgs/{org}/entities/{entity}/records")]
async fn create_record(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<EntityPath>,
    body: Body<RecordInput>,
) -> Result<Reply<Record>, ApiError> {
    who.can_see(&path.org)?;
    let EntityPath { org, entity } = path.into_inner();
    let format = body.format;
    let input = body.into_inner();
    check_entity(&input, &entity)?;
    let id = body_id(&input, None)?.unwrap_or_else(RecordId::generate);
    let org_name = org.clone();
    let w = OneWrite {
        org,
        entity,
        id,
        kind: WriteKind::Create,
        attributes: input.attributes,
        format,
        precondition: Precondition::None,
    };
    let written = state.db.run(move |conn| write_one(conn, w)).await?;
    let receipt = deliver(&state, &written).await;
    state.metrics.records_written.inc();
    record_reply(written.applied, &org_name, receipt)
}

/// One record, with its `ETag`.
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(RecordPath),
    responses(
        (status = 200, content((Record = "application/json"), (Record = "application/xml")), headers(("ETag" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/rest/v1/orgs/{org}/entities/{entity}/records/{id}")]
async fn get_record(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<RecordPath>,
) -> Result<Reply<Record>, ApiError> {
    who.can_see(&path.org)?;
    let id = path_id(&path)?;
    let RecordPath { org, entity, .. } = path.into_inner();
    let row = state
        .db
        .run(move |conn| {
            let org = orgs::require(conn, &org)?;
            metadata::require_entity(conn, org.id, &entity)?;
            records::get(conn, org.id, &entity, id.as_str())?
                .filter(|r| !r.deleted)
                .ok_or_else(|| records::record_not_found(&entity, id.as_str()))
        })
        .await?;
    let tag = etag(row.version);
    Ok(Reply::ok(Record::from_row(row)?).header(header::ETAG, tag))
}

async fn write_at_path(
    who: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<RecordPath>,
    body: Body<RecordInput>,
    kind: WriteKind,
) -> Result<Reply<Record>, ApiError> {
    who.can_see(&path.org)?;
    let id = path_id(&path)?;
    let precondition = precondition(&req)?;
    let format = body.format;
    let input = body.into_inner();
    check_entity(&input, &path.entity)?;
    body_id(&input, Some(&id))?;
    let RecordPath { org, entity, .. } = path.into_inner();
    let org_name = org.clone();
    let w = OneWrite {
        org,
        entity,
        id,
        kind,
        attributes: input.attributes,
        format,
        precondition,
    };
    let written = state.db.run(move |conn| write_one(conn, w)).await?;
    let receipt = deliver(&state, &written).await;
    state.metrics.records_written.inc();
    record_reply(written.applied, &org_name, receipt)
}

/// Replaces every attribute of a record, or creates it (201) when it does not exist.
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(RecordPath, ("If-Match" = Option<String>, Header, description = "\"<Version>\" or *")),
    request_body(content((RecordInput = "application/json"), (RecordInput = "application/xml"))),
    responses(
        (status = 200, content((Record = "application/json"), (Record = "application/xml")), headers(("ETag" = String))),
        (status = 201, content((Record = "application/json"), (Record = "application/xml")), headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "If-Match does not match the current version"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[put("/rest/v1/orgs/{org}/entities/{entity}/records/{id}")]
async fn replace_record(
    who: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<RecordPath>,
    body: Body<RecordInput>,
) -> Result<Reply<Record>, ApiError> {
    write_at_path(who, state, req, path, body, WriteKind::Replace).await
}

/// Changes the given attributes of a record (`null` clears one).
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(RecordPath, ("If-Match" = Option<String>, Header, description = "\"<Version>\" or *")),
    request_body(content((RecordInput = "application/json"), (RecordInput = "application/xml"))),
    responses(
        (status = 200, content((Record = "application/json"), (Record = "application/xml")), headers(("ETag" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[patch("/rest/v1/orgs/{org}/entities/{entity}/records/{id}")]
async fn update_record(
    who: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<RecordPath>,
    body: Body<RecordInput>,
) -> Result<Reply<Record>, ApiError> {
    write_at_path(who, state, req, path, body, WriteKind::Merge).await
}

/// Deletes a record, leaving a tombstone in the change feed.
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(RecordPath, ("If-Match" = Option<String>, Header, description = "\"<Version>\" or *")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/rest/v1/orgs/{org}/entities/{entity}/records/{id}")]
async fn delete_record(
    who: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, ApiError> {
    who.can_see(&path.org)?;
    let id = path_id(&path)?;
    let precondition = precondition(&req)?;
    let RecordPath { org, entity, .. } = path.into_inner();
    let w = OneWrite {
        org,
        entity,
        id,
        kind: WriteKind::Delete,
        attributes: Map::new(),
        format: Format::Json,
        precondition,
    };
    let written = state.db.run(move |conn| write_one(conn, w)).await?;
    let receipt = deliver(&state, &written).await;
    state.metrics.records_written.inc();
    let mut res = HttpResponse::NoContent();
    if let Some(r) = receipt {
        res.insert_header(("Transaction-Id", r.transaction_id))
            .insert_header(("Transaction-Status", r.status));
    }
    Ok(res.finish())
}
