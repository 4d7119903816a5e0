//! Many writes in one request and one transaction, replay-safe with `Idempotency-Key`.

use actix_web::http::header::HeaderName;
use actix_web::{post, web, HttpRequest};
use utoipa::OpenApi;

use super::body::{Body, Reply};
use super::responses::Write;
use super::OrgPath;
use crate::auth::Principal;
use crate::error::{ApiError, Code};
use crate::wire::batch::{BatchRequest, BatchResponse};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(paths(batch))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(batch);
}

fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let printable = value.as_bytes().iter().all(|b| (0x20..=0x7e).contains(b));
    match value.to_str() {
        Ok(k) if printable && !k.trim().is_empty() && k.len() <= 255 => {
            Ok(Some(k.trim().to_owned()))
        }
        _ => Err(ApiError::new(
            Code::InvalidIdempotencyKey,
            "Idempotency-Key must be 1 to 255 visible characters",
        )
        .field("Idempotency-Key")),
    }
}

/// Applies the operations in order, in one transaction: each gets its own result, and one
/// that fails changes nothing while the others go through. With `Idempotency-Key`, a replay
/// returns the stored response and applies nothing; the same key with another body is 422.
#[utoipa::path(tag = "Records", security(("bearer" = [])),
    params(OrgPath, ("Idempotency-Key" = Option<String>, Header, description = "Makes the request safe to retry; scoped to the org. 1 to 255 printable ASCII characters, not all spaces", pattern = "^[ -~]*[!-~][ -~]*$", max_length = 255)),
    request_body(content(
        (BatchRequest = "application/json", example = json!({"Operations": [{"Op": "Upsert", "Entity": "account", "Id": "a-18", "Attributes": {"name": "Fabrikam Inc", "emailaddress1": "info@fabrikam.example", "revenue": "90071992547409.9999"}}, {"Op": "Upsert", "Entity": "account", "Id": "a-19", "Attributes": {"name": "Northwind Traders", "statecode": 0}}, {"Op": "Delete", "Entity": "account", "Id": "a-17"}]})),
        (BatchRequest = "application/xml", example = json!("<BatchRequest><Operations><Operation><Op>Upsert</Op><Entity>account</Entity><Id>a-18</Id><Attributes><name>Fabrikam Inc</name><emailaddress1>info@fabrikam.example</emailaddress1><revenue>90071992547409.9999</revenue></Attributes></Operation><Operation><Op>Upsert</Op><Entity>account</Entity><Id>a-19</Id><Attributes><name>Northwind Traders</name><statecode>0</statecode></Attributes></Operation><Operation><Op>Delete</Op><Entity>account</Entity><Id>a-17</Id></Operation></Operations></BatchRequest>")),
    )),
    responses(
        (status = 200, content((BatchResponse = "application/json"), (BatchResponse = "application/xml"))),
        Write,
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
    let outcome = state
        .engine
        .apply_batch(&path.org, body.into_inner(), key, source)
        .await?;
    let reply = Reply::ok(outcome.response);
    Ok(if outcome.replayed {
        reply.header(HeaderName::from_static("idempotent-replayed"), "true")
    } else {
        reply
    })
}
