//! Explain: how many of an entity's server records a filter keeps, and why named ones are in
//! or out. A client org asks through its link; the server org answers for its own records
//! (what the orgsync provider calls). Neither moves the records.

use actix_web::{post, web};
use utoipa::OpenApi;

use super::body::{Body, Reply};
use super::connection::MANAGERS;
use super::responses::{AdminWriteBackend, Write};
use super::{EntityPath, OrgPath};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::wire::explain::{
    ExplainRequest, Explained, ExplainedRecord, FailedCondition, ServerExplainRequest,
};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(explain_link, explain_org),
    components(schemas(Explained, ExplainedRecord, FailedCondition))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(explain_link).service(explain_org);
}

/// How many of the server's records of the link's entity a filter keeps (the link's own when
/// none is given), and for each of up to 100 named records whether it exists, whether it is in
/// scope and every condition it fails with its actual value. The server counts: no record is
/// downloaded. A bad filter is a 422 naming what is wrong.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(EntityPath),
    request_body(content(
        (ExplainRequest = "application/json", example = json!({"SyncFilter": {"Type": "and", "Conditions": [{"Attribute": "statecode", "Operator": "eq", "Value": 0}]}, "RecordIds": ["a-17", "a-99"]})),
        (ExplainRequest = "application/xml", example = json!("<ExplainRequest><SyncFilterXml>&lt;filter type=\"and\"&gt;&lt;condition attribute=\"statecode\" operator=\"eq\" value=\"0\"/&gt;&lt;/filter&gt;</SyncFilterXml><RecordIds><RecordId>a-17</RecordId><RecordId>a-99</RecordId></RecordIds></ExplainRequest>")),
    )),
    responses(
        (status = 200, content((Explained = "application/json"), (Explained = "application/xml"))),
        AdminWriteBackend,
    ))]
#[post("/rest/v1/sync/{org}/links/{entity}/Explain")]
async fn explain_link(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<EntityPath>,
    body: Body<ExplainRequest>,
) -> Result<Reply<Explained>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let explained = state
        .engine
        .explain_link(&path.org, &path.entity, body.into_inner())
        .await?;
    Ok(Reply::ok(explained))
}

/// Explain on this org's own records (what a client's Explain asks of its server org through
/// the orgsync provider): the filters by entity in their JSON form, counted here in pages.
#[utoipa::path(tag = "Changes", security(("bearer" = [])), params(OrgPath),
    request_body(content(
        (ServerExplainRequest = "application/json", example = json!({"Entity": "account", "SyncFilters": {"account": {"Type": "and", "Conditions": [{"Attribute": "statecode", "Operator": "eq", "Value": 0}]}}, "RecordIds": ["a-17"]})),
        (ServerExplainRequest = "application/xml", example = json!("<ServerExplainRequest><Entity>account</Entity><RecordIds><RecordId>a-17</RecordId></RecordIds></ServerExplainRequest>")),
    )),
    responses(
        (status = 200, content((Explained = "application/json"), (Explained = "application/xml"))),
        Write,
    ))]
#[post("/rest/v1/orgs/{org}/explain")]
async fn explain_org(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<ServerExplainRequest>,
) -> Result<Reply<Explained>, ApiError> {
    who.can_see(&path.org)?;
    let explained = state
        .engine
        .explain_org(&path.org, body.into_inner())
        .await?;
    Ok(Reply::ok(explained))
}
