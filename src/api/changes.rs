//! The change feed of an org: what changed since a token, in version order, deletions
//! included, optionally through sync filters.

use actix_web::{post, web};
use utoipa::OpenApi;

use super::body::{Body, Reply};
use super::responses::Write;
use super::OrgPath;
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::wire::changes::{ChangePage, ChangesRequest};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(paths(read_changes), tags((name = "Changes", description = "The change feed")))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(read_changes);
}

/// Each record changed since `Since` once, at its latest version, in version order; a deleted
/// one as `Delete`. With filters, a changed record that does not match comes back as `Delete`
/// with `Reason: OutOfScope` (unless the reader cannot hold it: it was created after `Since`).
/// A `Since` older than the tombstone horizon is 410 `token_expired`: read again from scratch.
#[utoipa::path(tag = "Changes", security(("bearer" = [])), params(OrgPath),
    request_body(content(
        (ChangesRequest = "application/json", example = json!({"Entities": ["account"], "SyncFilters": {"account": {"Type": "and", "Conditions": [{"Attribute": "statecode", "Operator": "eq", "Value": 0}]}}, "Limit": 100})),
        (ChangesRequest = "application/xml", example = json!("<ChangesRequest><Entities><Entity>account</Entity></Entities><SyncFiltersXml>&lt;SyncFilters&gt;&lt;Entity name=\"account\"&gt;&lt;filter type=\"and\"&gt;&lt;condition attribute=\"statecode\" operator=\"eq\" value=\"0\"/&gt;&lt;/filter&gt;&lt;/Entity&gt;&lt;/SyncFilters&gt;</SyncFiltersXml><Limit>100</Limit></ChangesRequest>")),
    )),
    responses(
        (status = 200, content((ChangePage = "application/json"), (ChangePage = "application/xml"))),
        (status = 410, body = Problem, content_type = "application/problem+json", description = "token_expired: Since predates the tombstone horizon"),
        Write,
    ))]
#[post("/rest/v1/orgs/{org}/changes")]
async fn read_changes(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<ChangesRequest>,
) -> Result<Reply<ChangePage>, ApiError> {
    who.can_see(&path.org)?;
    let page = state.engine.changes(&path.org, body.into_inner()).await?;
    Ok(Reply::ok(page))
}
