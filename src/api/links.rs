//! The links of a connection: one per synced entity, with its switches and its filter.

use actix_web::{get, patch, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::connection::MANAGERS;
use super::responses::{AdminRead, AdminWrite};
use super::{EntityPath, OrgPath};
use crate::auth::Principal;
use crate::db::connections::LinkRow;
use crate::db::micros_to_datetime;
use crate::domain::snapshot::SnapshotFilter;
use crate::error::ApiError;
use crate::wire::sync::LinkPatch;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(paths(list_links, patch_link))]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_links).service(patch_link);
}

/// A link on the wire.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Link {
    pub entity: String,
    pub inbound: bool,
    pub outbound: bool,
    /// `On`, `Off`, or `AwaitingSendSnapshot`: Outbound was switched on again after the link
    /// had synchronized, and client writes wait for a full Send snapshot of the link.
    #[schema(example = "On")]
    pub outbound_state: String,
    /// The link's saved snapshot filter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_filter: Option<SnapshotFilter>,
    /// The entity's filter in its JSON form.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub sync_filter: Option<Value>,
    /// The server change token the next download starts from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The next download reads this entity in full.
    pub needs_full: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_on: Option<DateTime<Utc>>,
}

impl From<LinkRow> for Link {
    fn from(row: LinkRow) -> Self {
        Self {
            outbound_state: row.outbound_state().to_owned(),
            snapshot_filter: row.snapshot_filter.map(|f| f.into_inner()),
            sync_filter: row.sync_filter.map(|f| f.into_inner()),
            entity: row.entity,
            inbound: row.inbound,
            outbound: row.outbound,
            checkpoint: row.checkpoint,
            needs_full: row.needs_full,
            last_sync_on: row.last_sync_on.map(micros_to_datetime),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LinkList {
    pub links: Vec<Link>,
}

/// The connection's links: one per synced entity.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, content((LinkList = "application/json"), (LinkList = "application/xml"))),
        AdminRead,
    ))]
#[get("/rest/v1/sync/{org}/links")]
async fn list_links(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<LinkList>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let links = state.engine.links(&path.org).await?;
    Ok(Reply::ok(LinkList {
        links: links.into_iter().map(Link::from).collect(),
    }))
}

/// Switches a link's directions or changes its filters (a changed sync filter re-reads the
/// link in full). Outbound switched on again after the link had synchronized waits for a full
/// Send snapshot (`OutboundState: AwaitingSendSnapshot`).
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(EntityPath),
    request_body(content(
        (LinkPatch = "application/json", example = json!({"Inbound": true, "Outbound": true, "SyncFilter": {"Type": "and", "Conditions": [{"Attribute": "statecode", "Operator": "eq", "Value": 0}]}})),
        (LinkPatch = "application/xml", example = json!("<LinkPatch><Inbound>true</Inbound><Outbound>false</Outbound></LinkPatch>")),
    )),
    responses(
        (status = 200, content((Link = "application/json"), (Link = "application/xml"))),
        AdminWrite,
    ))]
#[patch("/rest/v1/sync/{org}/links/{entity}")]
async fn patch_link(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<EntityPath>,
    body: Body<LinkPatch>,
) -> Result<Reply<Link>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let link = state
        .engine
        .change_link(&path.org, &path.entity, body.into_inner())
        .await?;
    Ok(Reply::ok(link.into()))
}
