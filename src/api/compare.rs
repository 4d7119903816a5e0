//! Compare: drift between a client org and its server org found by digests of id ranges. A
//! client org starts the job; the server org answers the digest requests it makes (what the
//! orgsync provider calls). Neither moves the records.

use actix_web::{post, web};
use utoipa::OpenApi;

use super::body::{Body, OptionalBody, Reply};
use super::connection::MANAGERS;
use super::jobs::{accepted, JobAccepted};
use super::responses::{AdminWrite, Write};
use super::OrgPath;
use crate::auth::Principal;
use crate::error::{ApiError, Problem};
use crate::wire::compare::{
    CompareRequest, DigestRange, DigestRequest, Digests, PieceDigest, RangeDigests, RecordDigestOf,
};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(compare_async, digests_org),
    components(schemas(
        CompareRequest,
        DigestRange,
        Digests,
        RangeDigests,
        PieceDigest,
        RecordDigestOf
    ))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(compare_async).service(digests_org);
}

/// Finds the drift between the client org and its server org without moving the data: both
/// sides digest their in-scope records by id range and only the ranges that differ are looked
/// at further. The job's summary gives per entity `Server`, `Client`, `Missing`, `Extra`,
/// `Stale`, `LocalOnly` and `Pending`, with the first ids of each; its log names every
/// difference. `Repair: true` then syncs exactly those records, one by one, through the
/// delete guard and the quarantine. A Compare already queued or running is returned (200).
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    request_body(content(
        (Option<CompareRequest> = "application/json", example = json!({"Entities": ["account"], "Repair": false})),
        (Option<CompareRequest> = "application/xml", example = json!("<CompareRequest><Entities><Entity>account</Entity></Entities><Repair>false</Repair></CompareRequest>")),
    ), description = "Optional: every inbound link, without repair, when absent"),
    responses(
        (status = 200, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), description = "The Compare already queued or running"),
        (status = 202, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The connection is not connected yet"),
        AdminWrite,
    ))]
#[post("/rest/v1/sync/{org}/CompareAsync")]
async fn compare_async(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: OptionalBody<CompareRequest>,
) -> Result<Reply<JobAccepted>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let (job, new) = state
        .engine
        .compare_async(&path.org, body.0.into_inner(), &who.subject)
        .await?;
    Ok(accepted(&job, new))
}

/// Digests of this org's records of one entity over id ranges (what a client's Compare asks
/// of its server org through the orgsync provider). Each range is cut into pieces of `Size`
/// records, each with its count and digest, or, without a `Size`, listed record by record.
/// Ids are ordered byte by byte; only the records the filter keeps count.
#[utoipa::path(tag = "Changes", security(("bearer" = [])), params(OrgPath),
    request_body(content(
        (DigestRequest = "application/json", example = json!({"Entity": "account", "Ranges": [{"Size": 2}, {"From": "a-17", "To": "a-20"}]})),
        (DigestRequest = "application/xml", example = json!("<DigestRequest><Entity>account</Entity><Ranges><Range><Size>2</Size></Range><Range><From>a-17</From><To>a-20</To></Range></Ranges></DigestRequest>")),
    )),
    responses(
        (status = 200, content((Digests = "application/json"), (Digests = "application/xml"))),
        Write,
    ))]
#[post("/rest/v1/orgs/{org}/digests")]
async fn digests_org(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<DigestRequest>,
) -> Result<Reply<Digests>, ApiError> {
    who.can_see(&path.org)?;
    let digests = state
        .engine
        .digests_org(&path.org, body.into_inner())
        .await?;
    Ok(Reply::ok(digests))
}
