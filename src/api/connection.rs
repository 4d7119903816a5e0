//! A client org's connection to its server org: ConnectAsync makes it; it is read, changed
//! and removed here.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::jobs::{accepted, JobAccepted};
use super::links::Link;
use super::responses::{AdminActionQueryBackend, AdminRead, AdminWrite, ProviderWrite};
use super::OrgPath;
use crate::auth::{Principal, Role};
use crate::db::micros_to_datetime;
use crate::domain::names::OrgName;
use crate::domain::safety::{DeleteGuard, MatchOn};
use crate::domain::setup::{ConflictPolicy, ConnectionState, FilterSource, SyncMode};
use crate::error::{ApiError, Problem};
use crate::sync::connection::ConnectionView;
use crate::sync::setup::{ConnectSetup, ConnectionChange};
use crate::wire::sync::{ConnectRequest, ConnectionPatch};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(connect_async, get_connection, patch_connection, delete_connection),
    components(schemas(SyncMode, ConflictPolicy, ConnectionState, MatchOn, DeleteGuard)),
    tags((name = "Sync", description = "The sync web service of a client org"))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(connect_async)
        .service(get_connection)
        .service(patch_connection)
        .service(delete_connection);
}

/// Who manages a connection.
pub const MANAGERS: &[Role] = &[Role::Provider, Role::OrgAdmin];

/// Connects a client org to its server org: registers `{org}` when it does not exist, stores
/// the connection (the password encrypted), and queues the Connect job. On an org already
/// connected it replaces the connection's settings with the request's and queues the job that
/// carries them on: `UpdateMetadata` once connected, `Connect` again while it has not
/// succeeded (a job of either kind still waiting is given back instead).
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    request_body(content(
        (ConnectRequest = "application/json", example = json!({"SyncSetup": {
            "ProviderID": "orgsync", "Url": "https://server.example/rest/v1/orgs/contoso",
            "UserName": "sync@contoso.example", "Password": "correct horse battery staple",
            "Entities": ["account", "contact", "task", "appointment"], "WriteOffline": true,
            "SyncMode": "Mirror", "ConflictPolicy": "Manual",
            "MatchOn": {"account": ["emailaddress1"]}, "DeleteGuard": {"Count": 500, "Percent": 10}}})),
        (ConnectRequest = "application/xml", example = json!("<ConnectRequest><SyncSetup><ProviderID>orgsync</ProviderID><Url>https://server.example/rest/v1/orgs/contoso</Url><UserName>sync@contoso.example</UserName><Password>correct horse battery staple</Password><Entities><Entity>account</Entity><Entity>contact</Entity><Entity>task</Entity><Entity>appointment</Entity></Entities><WriteOffline>true</WriteOffline><SyncMode>Mirror</SyncMode><ConflictPolicy>Manual</ConflictPolicy><MatchOn><Entity name=\"account\"><Attribute>emailaddress1</Attribute></Entity></MatchOn><DeleteGuard><Count>500</Count><Percent>10</Percent></DeleteGuard></SyncSetup></ConnectRequest>")),
    )),
    responses(
        (status = 202, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "already_connected: the org is connected through another provider"),
        ProviderWrite,
    ))]
#[post("/rest/v1/sync/{org}/ConnectAsync")]
async fn connect_async(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<ConnectRequest>,
) -> Result<Reply<JobAccepted>, ApiError> {
    who.require_role(&[Role::Provider])?;
    let org = OrgName::parse(path.into_inner().org).map_err(|e| ApiError::from(e).field("org"))?;
    let setup = ConnectSetup::parse(body.into_inner().sync_setup)?;
    let job = state.engine.connect(org, setup, &who.subject).await?;
    Ok(accepted(&job, true))
}

/// A connection on the wire: its settings (never the password), its state and its links.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Connection {
    pub org: String,
    #[serde(rename = "ProviderID")]
    pub provider_id: String,
    pub url: String,
    pub user_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entities: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_filters_xml: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub sync_filters: Option<Value>,
    pub write_offline: bool,
    pub sync_mode: SyncMode,
    pub conflict_policy: ConflictPolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_interval: Option<String>,
    /// `Held` while a sync job of the org waits for `Approve` or `Cancel` (`HeldJob`).
    pub state: ConnectionState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_on: Option<MatchOn>,
    /// The guard in force (the default when none was given).
    pub delete_guard: DeleteGuard,
    /// sql provider: the admin consented to change capture in the database
    /// (`InstallChangeCapture`); shown only when given.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub install_change_capture: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_on: Option<DateTime<Utc>>,
    pub created_on: DateTime<Utc>,
    pub updated_on: DateTime<Utc>,
    pub links: Vec<Link>,
}

impl From<ConnectionView> for Connection {
    fn from(view: ConnectionView) -> Self {
        let row = view.connection;
        let delete_guard = row.guard();
        let state = match (&view.held_job, row.state) {
            (Some(_), ConnectionState::Connected) => ConnectionState::Held,
            (_, state) => state,
        };
        let (sync_filters_xml, sync_filters) = match row.sync_filters.map(|f| f.into_inner()) {
            Some(FilterSource::Xml(x)) => (Some(x), None),
            Some(FilterSource::Json(j)) => (None, Some(j)),
            None => (None, None),
        };
        Self {
            org: view.org,
            provider_id: row.provider,
            url: row.url,
            user_name: row.user_name,
            entities: row
                .entities
                .map(|e| e.into_inner().into_iter().map(String::from).collect()),
            sync_filters_xml,
            sync_filters,
            write_offline: row.write_offline,
            sync_mode: row.sync_mode,
            conflict_policy: row.conflict_policy,
            sync_interval: row.sync_interval_secs.map(|s| format!("PT{s}S")),
            state,
            held_job: view.held_job,
            match_on: row.match_on.map(|m| m.into_inner()),
            delete_guard,
            install_change_capture: row.change_capture,
            last_error: row.last_error,
            last_sync_on: row.last_sync_on.map(micros_to_datetime),
            created_on: micros_to_datetime(row.created_on),
            updated_on: micros_to_datetime(row.updated_on),
            links: view.links.into_iter().map(Link::from).collect(),
        }
    }
}

/// The connection's settings (never the password), state, last sync and links.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, content((Connection = "application/json"), (Connection = "application/xml"))),
        AdminRead,
    ))]
#[get("/rest/v1/sync/{org}/connection")]
async fn get_connection(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<Connection>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let view = state.engine.connection(&path.org).await?;
    Ok(Reply::ok(view.into()))
}

/// Changes settings of the connection. New credentials or Url are used from the next job on;
/// a new entity selection queues an UpdateMetadata job (its `Location` is in the answer's
/// header); new filters are checked against the client's metadata and their links re-read in
/// full at the next sync.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    request_body(content(
        (ConnectionPatch = "application/json", example = json!({"MatchOn": {"account": ["name"]}, "DeleteGuard": "Off"})),
        (ConnectionPatch = "application/xml", example = json!("<ConnectionPatch><MatchOn><Entity name=\"account\"><Attribute>name</Attribute></Entity></MatchOn><DeleteGuard>Off</DeleteGuard></ConnectionPatch>")),
    )),
    responses(
        (status = 200, content((Connection = "application/json"), (Connection = "application/xml"))),
        AdminWrite,
    ))]
#[patch("/rest/v1/sync/{org}/connection")]
async fn patch_connection(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<ConnectionPatch>,
) -> Result<Reply<Connection>, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let change = ConnectionChange::parse(body.into_inner())?;
    if change.url.is_some() {
        // Where a connection's credentials go is the provider's to say.
        who.require_role(&[Role::Provider])?;
    }
    let (view, job) = state
        .engine
        .change_connection(&path.org, change, &who.subject)
        .await?;
    let reply = Reply::ok(Connection::from(view));
    Ok(match job {
        Some(j) => reply.header(header::LOCATION, format!("/rest/v1/jobs/{}", j.id)),
        None => reply,
    })
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DisconnectQuery {
    /// sql provider: also remove the change log, its tables and triggers from the database
    /// (the connection stays when that fails).
    pub drop_change_capture: Option<bool>,
}

/// Removes the connection and its links and cancels the org's queued jobs; the org and its
/// records stay.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath, DisconnectQuery),
    responses(
        (status = 204, description = "Disconnected"),
        AdminActionQueryBackend,
    ))]
#[delete("/rest/v1/sync/{org}/connection")]
async fn delete_connection(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    query: web::Query<DisconnectQuery>,
) -> Result<HttpResponse, ApiError> {
    who.require(&path.org, MANAGERS)?;
    let drop_capture = query.drop_change_capture.unwrap_or(false);
    state.engine.disconnect(&path.org, drop_capture).await?;
    Ok(HttpResponse::NoContent().finish())
}
