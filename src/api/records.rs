//! Records of an entity: list, create, read, replace, change, delete, with `ETag`/`If-Match`.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::responses::{Read, ReadQuery, Write};
use super::{next_cursor, EntityPath, PageQuery, RecordPath};
use crate::auth::Principal;
use crate::db::records::{self, Applied, Precondition, RecordRow, WriteKind};
use crate::db::{metadata, micros_to_datetime, orgs};
use crate::domain::error::record_not_found;
use crate::domain::names::RecordId;
use crate::domain::record::Source;
use crate::error::{ApiError, Code, Problem};
use crate::sync::write::RecordWrite;
use crate::wire::batch::TransactionReceipt;
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
    pub created_on: Option<String>,
    #[serde(default)]
    pub modified_on: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub attributes: Map<String, Value>,
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
                r.status.as_str().to_owned(),
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
    let tag = text.strip_prefix("W/").unwrap_or(text);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|t| (1..=18).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .map(Precondition::Version)
        .ok_or_else(|| {
            ApiError::new(
                Code::InvalidIfMatch,
                "If-Match must be * or one entity tag \"<Version>\"",
            )
            .field("If-Match")
        })
}

fn path_id(path: &RecordPath) -> Result<RecordId, ApiError> {
    RecordId::parse(path.id.as_str()).map_err(|_| record_not_found(&path.entity, &path.id).into())
}

fn body_id(input: &RecordInput, path_id: Option<&RecordId>) -> Result<Option<RecordId>, ApiError> {
    let Some(given) = &input.id else {
        return Ok(path_id.cloned());
    };
    let id = RecordId::parse(given.as_str()).map_err(|e| ApiError::from(e).field("Id"))?;
    match path_id {
        Some(p) if *p != id => Err(ApiError::new(
            Code::IdMismatch,
            format!("body Id '{id}' differs from the path's '{p}'"),
        )
        .field("Id")),
        _ => Ok(Some(id)),
    }
}

fn check_entity(input: &RecordInput, entity: &str) -> Result<(), ApiError> {
    match &input.entity {
        Some(e) if e != entity => Err(ApiError::new(
            Code::EntityMismatch,
            format!("body Entity '{e}' differs from the path's '{entity}'"),
        )
        .field("Entity")),
        _ => Ok(()),
    }
}

/// A page of live records in a stable order (by id).
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(EntityPath, PageQuery),
    responses(
        (status = 200, content((RecordPage = "application/json"), (RecordPage = "application/xml"))),
        ReadQuery,
    ))]
#[get("/rest/v1/orgs/{org}/entities/{entity}/records")]
async fn list_records(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<EntityPath>,
    page: web::Query<PageQuery>,
) -> Result<Reply<RecordPage>, ApiError> {
    who.can_see(&path.org)?;
    let (limit, after) = (page.limit()?, page.after()?);
    let limit = usize::try_from(limit).unwrap_or(100);
    let max_bytes = state.settings.page_bytes;
    let EntityPath { org, entity } = path.into_inner();
    let (rows, more) = state
        .db
        .run(move |conn| {
            let org = orgs::require(conn, &org)?;
            metadata::require_entity(conn, org.id, &entity)?;
            records::list_bounded(conn, org.id, &entity, after.as_deref(), limit, max_bytes)
        })
        .await?;
    let next = next_cursor(&rows, more, |r: &RecordRow| r.id.clone());
    let records = rows
        .into_iter()
        .map(Record::from_row)
        .collect::<Result<_, _>>()?;
    Ok(Reply::ok(RecordPage { records, next }))
}

/// Creates a record; without `Id` it gets a new UUIDv7.
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(EntityPath),
    request_body(content(
        (RecordInput = "application/json", example = json!({"Id": "a-17", "Attributes": {"name": "Contoso Pharmaceuticals", "emailaddress1": "info@contoso.example", "revenue": "1250000.50", "statecode": 0}})),
        (RecordInput = "application/xml", example = json!("<Record><Id>a-17</Id><Attributes><name>Contoso Pharmaceuticals</name><emailaddress1>info@contoso.example</emailaddress1><revenue>1250000.50</revenue><statecode>0</statecode></Attributes></Record>")),
    )),
    responses(
        (status = 201, content((Record = "application/json"), (Record = "application/xml")), headers(("ETag" = String), ("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "A record with this Id exists"),
        Write,
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
    let source = body.format.source();
    let input = body.into_inner();
    check_entity(&input, &entity)?;
    let id = body_id(&input, None)?.unwrap_or_else(RecordId::generate);
    let write = RecordWrite {
        org: org.clone(),
        entity,
        id,
        kind: WriteKind::Create,
        attributes: input.attributes,
        source,
        precondition: Precondition::None,
    };
    let written = state.engine.write_record(write).await?;
    record_reply(written.applied, &org, written.receipt)
}

/// One record, with its `ETag`.
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(RecordPath),
    responses(
        (status = 200, content((Record = "application/json"), (Record = "application/xml")), headers(("ETag" = String))),
        Read,
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
            Ok::<_, ApiError>(
                records::get(conn, org.id, &entity, id.as_str())?
                    .filter(|r| !r.deleted)
                    .ok_or_else(|| record_not_found(&entity, id.as_str()))?,
            )
        })
        .await?;
    let tag = etag(row.version);
    Ok(Reply::ok(Record::from_row(row)?).header(header::ETAG, tag))
}

/// The write a request makes at a record's path.
fn write_at(
    req: &HttpRequest,
    path: RecordPath,
    kind: WriteKind,
    body: Option<Body<RecordInput>>,
) -> Result<RecordWrite, ApiError> {
    let id = path_id(&path)?;
    let (source, attributes) = match body {
        Some(body) => {
            let source = body.format.source();
            let input = body.into_inner();
            check_entity(&input, &path.entity)?;
            body_id(&input, Some(&id))?;
            (source, input.attributes)
        }
        None => (Source::Json, Map::new()),
    };
    Ok(RecordWrite {
        org: path.org,
        entity: path.entity,
        id,
        kind,
        attributes,
        source,
        precondition: precondition(req)?,
    })
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
    let write = write_at(&req, path.into_inner(), kind, Some(body))?;
    let org = write.org.clone();
    let written = state.engine.write_record(write).await?;
    record_reply(written.applied, &org, written.receipt)
}

/// Replaces every attribute of a record, or creates it (201) when it does not exist.
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(RecordPath, ("If-Match" = Option<String>, Header, description = "\"<Version>\" or *", pattern = r#"^(\*|(W/)?"[0-9]{1,18}")$"#)),
    request_body(content(
        (RecordInput = "application/json", example = json!({"Attributes": {"name": "Contoso Pharmaceuticals", "emailaddress1": "sales@contoso.example", "revenue": 1300000, "statecode": 0}})),
        (RecordInput = "application/xml", example = json!("<Record><Attributes><name>Contoso Pharmaceuticals</name><emailaddress1>sales@contoso.example</emailaddress1><revenue>1300000</revenue><statecode>0</statecode></Attributes></Record>")),
    )),
    responses(
        (status = 200, content((Record = "application/json"), (Record = "application/xml")), headers(("ETag" = String))),
        (status = 201, content((Record = "application/json"), (Record = "application/xml")), headers(("ETag" = String))),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "If-Match does not match the current version"),
        Write,
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
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(RecordPath, ("If-Match" = Option<String>, Header, description = "\"<Version>\" or *", pattern = r#"^(\*|(W/)?"[0-9]{1,18}")$"#)),
    request_body(content(
        (RecordInput = "application/json", example = json!({"Attributes": {"statecode": 1}})),
        (RecordInput = "application/xml", example = json!("<Record><Attributes><statecode>1</statecode></Attributes></Record>")),
    )),
    responses(
        (status = 200, content((Record = "application/json"), (Record = "application/xml")), headers(("ETag" = String))),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "If-Match does not match the current version"),
        Write,
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
#[utoipa::path(tag = "Records", security(("bearer" = [])), params(RecordPath, ("If-Match" = Option<String>, Header, description = "\"<Version>\" or *", pattern = r#"^(\*|(W/)?"[0-9]{1,18}")$"#)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json", description = "If-Match does not match the current version"),
        Read,
    ))]
#[delete("/rest/v1/orgs/{org}/entities/{entity}/records/{id}")]
async fn delete_record(
    who: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<RecordPath>,
) -> Result<HttpResponse, ApiError> {
    who.can_see(&path.org)?;
    let write = write_at(&req, path.into_inner(), WriteKind::Delete, None)?;
    let receipt = state.engine.write_record(write).await?.receipt;
    let mut res = HttpResponse::NoContent();
    if let Some(r) = receipt {
        res.insert_header(("Transaction-Id", r.transaction_id))
            .insert_header(("Transaction-Status", r.status.as_str()));
    }
    Ok(res.finish())
}
