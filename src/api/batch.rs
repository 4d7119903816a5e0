//! Many writes in one request and one transaction, replay-safe with `Idempotency-Key`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::records::invalid_record;
use super::OrgPath;
use crate::auth::Principal;
use crate::db::records::{Applied, Precondition, WriteKind, WriteOp};
use crate::db::{idempotency, metadata, orgs, transactions, write_tx};
use crate::domain::names::RecordId;
use crate::domain::record::normalize;
use crate::error::{ApiError, Problem};
use crate::sync::upload::{self, TransactionReceipt};
use crate::AppState;

/// Most operations in one batch.
pub const MAX_OPERATIONS: usize = 10_000;

#[derive(OpenApi)]
#[openapi(paths(batch))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(batch);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum BatchOp {
    /// Creates the record, or changes the given attributes of an existing one.
    Upsert,
    Delete,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BatchOperation {
    pub op: BatchOp,
    pub entity: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<Map<String, Value>>,
    /// The version the writer saw (`0`: none); another current version fails the operation with 412.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub if_version: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BatchRequest {
    pub operations: Vec<BatchOperation>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResult {
    pub index: usize,
    pub op: BatchOp,
    pub entity: String,
    pub id: String,
    /// The HTTP status this operation alone would have had: 200, 201, 204 or a 4xx.
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
    /// On a connected client org: what became of the operation's transaction to the server.
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub transaction: Option<TransactionReceipt>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResponse {
    pub results: Vec<BatchResult>,
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= 255 => Ok(Some(k.trim().to_owned())),
        _ => Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible characters",
        )
        .with("field", "Idempotency-Key")),
    }
}

/// Applies the operations in order, in one transaction: each gets its own result, and one
/// that fails changes nothing while the others go through. With `Idempotency-Key`, a replay
/// returns the stored response and applies nothing; the same key with another body is 422.
#[utoipa::path(tag = "Records", security(("bearer" = [])),
    params(OrgPath, ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry; scoped to the org")),
    request_body(content((BatchRequest = "application/json"), (BatchRequest = "application/xml"))),
    responses(
        (status = 200, content((BatchResponse = "application/json"), (BatchResponse = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "Malformed operations, too many, or a reused Idempotency-Key"),
    ))]
#[post("/rest/v1/orgs/{org}/batch")]
async fn batch(
    who: Principal,
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<OrgPath>,
    body: Body<BatchRequest>,
) -> Result<Reply<BatchResponse>, ApiError> {
    who.can_see(&path.org)?;
    let key = idempotency_key(&req)?;
    let source = body.format.source();
    let request = body.into_inner();
    if request.operations.len() > MAX_OPERATIONS {
        return Err(ApiError::unprocessable(
            "too_many_operations",
            format!(
                "a batch holds at most {MAX_OPERATIONS} operations, this one {}",
                request.operations.len()
            ),
        )
        .with("field", "Operations"));
    }
    let fingerprint = hex::encode(Sha256::digest(
        serde_json::to_vec(&request).map_err(ApiError::internal)?,
    ));
    let org_name = path.into_inner().org;
    let outcome = state
        .db
        .run(move |conn| {
            let org = orgs::require(conn, &org_name)?;
            let defs: HashMap<String, _> = metadata::entities(conn, org.id)?
                .into_iter()
                .map(|d| (d.name.to_string(), d))
                .collect();
            // Check every operation against the metadata before taking the write lock.
            let checked: Vec<Result<WriteOp, ApiError>> = request
                .operations
                .iter()
                .map(|op| {
                    let def = defs
                        .get(&op.entity)
                        .ok_or_else(|| metadata::entity_not_found(&op.entity))?;
                    let id = RecordId::parse(op.id.as_str())
                        .map_err(|e| ApiError::from(e).with("field", "Id"))?;
                    let attributes = match (op.op, &op.attributes) {
                        (BatchOp::Upsert, Some(a)) => {
                            normalize(def, a, source).map_err(|e| invalid_record(&op.entity, e))?
                        }
                        (BatchOp::Upsert, None) => Map::new(),
                        (BatchOp::Delete, None) => Map::new(),
                        (BatchOp::Delete, Some(_)) => {
                            return Err(ApiError::unprocessable(
                                "invalid_operation",
                                "a Delete carries no Attributes",
                            )
                            .with("field", "Attributes"))
                        }
                    };
                    let kind = if op.op == BatchOp::Upsert {
                        WriteKind::Upsert
                    } else {
                        WriteKind::Delete
                    };
                    let precondition = op
                        .if_version
                        .map_or(Precondition::None, Precondition::Version);
                    Ok(WriteOp {
                        entity: op.entity.clone(),
                        id,
                        kind,
                        attributes,
                        precondition,
                        server_version: None,
                    })
                })
                .collect();
            write_tx(conn, |conn| {
                orgs::lock(conn, org.id)?;
                if let Some(key) = &key {
                    if let Some(stored) = idempotency::find(conn, org.id, key)? {
                        if stored.request_hash != fingerprint {
                            return Err(ApiError::unprocessable(
                                "idempotency_key_reused",
                                "this Idempotency-Key was used with a different request body",
                            )
                            .with("field", "Idempotency-Key"));
                        }
                        let response =
                            serde_json::from_str(&stored.response).map_err(ApiError::internal)?;
                        return Ok((response, true, org.id, Vec::new()));
                    }
                }
                let valid: Vec<WriteOp> = checked
                    .iter()
                    .filter_map(|c| c.as_ref().ok().cloned())
                    .collect();
                let (applied, captured) =
                    transactions::write_and_capture(conn, org.id, &defs, &valid)?;
                let mut applied = applied.into_iter();
                let results = request
                    .operations
                    .iter()
                    .zip(checked.iter())
                    .enumerate()
                    .map(|(index, (op, check))| {
                        let outcome = match check {
                            Ok(_) => applied
                                .next()
                                .unwrap_or_else(|| Err(ApiError::internal("missing batch result"))),
                            Err(e) => Err(e.clone()),
                        };
                        to_result(index, op, outcome)
                    })
                    .collect();
                let response = BatchResponse { results };
                if let Some(key) = &key {
                    let text = serde_json::to_string(&response).map_err(ApiError::internal)?;
                    idempotency::store(conn, org.id, key, &fingerprint, &text)?;
                }
                Ok((response, false, org.id, captured))
            })
        })
        .await?;
    let (mut response, replayed, org_id, captured) = outcome;
    // Delivered (or queued) after the commit: the writes stand whatever the server says.
    let ids: Vec<String> = captured.iter().map(|t| t.id.clone()).collect();
    let receipts = upload::deliver_now(&state, org_id, ids).await;
    for (tx, receipt) in captured.iter().zip(receipts) {
        if let Some(r) = response
            .results
            .iter_mut()
            .find(|r| r.id == tx.record_id && r.entity == tx.entity && r.version == Some(tx.seq))
        {
            r.transaction = Some(receipt);
        }
    }
    let written = response.results.iter().filter(|r| r.status < 300).count();
    if !replayed {
        state.metrics.records_written.inc_by(written as u64);
    }
    let reply = Reply::ok(response);
    Ok(if replayed {
        reply.header(
            actix_web::http::header::HeaderName::from_static("idempotent-replayed"),
            "true",
        )
    } else {
        reply
    })
}

fn to_result(index: usize, op: &BatchOperation, outcome: Result<Applied, ApiError>) -> BatchResult {
    let (status, version, error) = match outcome {
        Ok(Applied::Created(r)) => (StatusCode::CREATED, Some(r.version), None),
        Ok(Applied::Updated(r)) => (StatusCode::OK, Some(r.version), None),
        Ok(Applied::Deleted(r)) => (StatusCode::NO_CONTENT, Some(r.version), None),
        Err(e) => (e.status(), None, Some(e.to_problem())),
    };
    let status = status.as_u16();
    BatchResult {
        index,
        op: op.op,
        entity: op.entity.clone(),
        id: op.id.clone(),
        status,
        version,
        error,
        transaction: None,
    }
}
