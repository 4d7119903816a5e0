//! The sync web service: ConnectAsync, UpdateMetadataAsync, the connection and its links.

use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, OptionalBody, Reply};
use super::jobs::JobAccepted;
use super::orgs::RegistrationInfo;
use super::{EntityPath, OrgPath};
use crate::auth::{Principal, Role};
use crate::config::parse_duration;
use crate::crypto::Sealer;
use crate::db::connections::{self, ConnectionRow, LinkRow};
use crate::db::jobs::{self as job_queue, JobRow};
use crate::db::{metadata, micros_to_datetime, now_micros, orgs, write_tx, DbConn};
use crate::domain::filter::SyncFilters;
use crate::domain::names::{LogicalName, OrgName};
use crate::domain::setup::{ConflictPolicy, ConnectionState, FilterSource, SyncMode};
use crate::error::{ApiError, Problem};
use crate::jobs::JobKind;
use crate::providers::{self, orgsync::parse_url, ProviderInfo};
use crate::sync::request::{Direction, SyncRequest};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(connect_async, sync_async, sync_all_async, update_metadata_async, get_connection, patch_connection, delete_connection, list_links, patch_link),
    components(schemas(SyncMode, ConflictPolicy, ConnectionState, Direction)),
    tags((name = "Sync", description = "The sync web service of a client org"))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(connect_async)
        .service(sync_all_async)
        .service(sync_async)
        .service(update_metadata_async)
        .service(get_connection)
        .service(patch_connection)
        .service(delete_connection)
        .service(list_links)
        .service(patch_link);
}

/// Shortest accepted `SyncInterval`.
const MIN_INTERVAL_SECS: u64 = 60;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ConnectRequest {
    pub sync_setup: SyncSetup,
}

/// How a client org connects to its server org.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SyncSetup {
    /// The provider's GUID or short name (`GET /rest/v1/providers`).
    #[serde(rename = "ProviderID")]
    #[schema(example = "7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c")]
    pub provider_id: String,
    /// `{base}/rest/v1/orgs/{server_org}` for the orgsync provider.
    #[schema(example = "http://127.0.0.1:8081/rest/v1/orgs/contoso")]
    pub url: String,
    pub user_name: String,
    /// Stored encrypted; never returned.
    pub password: String,
    #[serde(default)]
    pub registration_info: Option<RegistrationInfo>,
    /// The entities to sync; absent: all of the server's.
    #[serde(default)]
    pub entities: Option<Vec<String>>,
    /// A `<SyncFilters>` document (escaped text or CDATA in XML).
    #[serde(default)]
    pub sync_filters_xml: Option<String>,
    /// The same filters in their JSON form.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub sync_filters: Option<Value>,
    /// true: client writes wait for the next sync; false (default): delivered at once.
    #[serde(default)]
    pub write_offline: Option<bool>,
    #[serde(default)]
    pub sync_mode: Option<SyncMode>,
    #[serde(default)]
    pub conflict_policy: Option<ConflictPolicy>,
    /// ISO 8601 duration (`PT1H`) of the periodic sync job; at least a minute.
    #[serde(default)]
    pub sync_interval: Option<String>,
}

fn field_error(code: &'static str, field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::unprocessable(code, detail).with("field", field)
}

fn check_provider(id: &str) -> Result<&'static ProviderInfo, ApiError> {
    let known = || -> Value {
        providers::PROVIDERS
            .iter()
            .map(|p| json!({"ProviderID": p.provider_id, "Name": p.name}))
            .collect()
    };
    match providers::find(id) {
        Some(p) if p.available => Ok(p),
        Some(p) => Err(field_error(
            "provider_not_available",
            "ProviderID",
            format!("the '{}' provider is not available in this version", p.name),
        )
        .with("providers", known())),
        None => Err(field_error(
            "unknown_provider",
            "ProviderID",
            format!("unknown provider '{id}'; GET /rest/v1/providers lists the known ones"),
        )
        .with("providers", known())),
    }
}

fn check_credentials(user_name: &str, password: &str) -> Result<(), ApiError> {
    if user_name.trim().is_empty() || user_name.len() > 256 {
        return Err(field_error(
            "invalid_field",
            "UserName",
            "UserName must be 1 to 256 characters",
        ));
    }
    if password.is_empty() || password.len() > 1024 {
        return Err(field_error(
            "invalid_field",
            "Password",
            "Password must be 1 to 1024 characters",
        ));
    }
    Ok(())
}

fn check_entities(entities: Option<Vec<String>>) -> Result<Option<String>, ApiError> {
    let Some(list) = entities else {
        return Ok(None);
    };
    let mut names: Vec<String> = Vec::new();
    for e in list {
        let name = LogicalName::parse(e.trim())
            .map_err(|err| field_error("invalid_name", "Entities", err.to_string()))?;
        if !names.iter().any(|n| n == name.as_str()) {
            names.push(name.to_string());
        }
    }
    if names.is_empty() {
        return Err(field_error(
            "invalid_field",
            "Entities",
            "Entities lists no entity; leave it out to sync all",
        ));
    }
    serde_json::to_string(&names)
        .map(Some)
        .map_err(ApiError::internal)
}

/// Parses the filters' grammar now (their types need the server's metadata, which the
/// Connect job checks) and keeps them as given.
fn check_filters(
    xml: Option<String>,
    json: Option<Value>,
    entities: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let source = match (xml, json) {
        (Some(_), Some(_)) => {
            return Err(field_error(
                "invalid_filter",
                "SyncFilters",
                "give SyncFiltersXml or SyncFilters, not both",
            ))
        }
        (Some(x), None) => FilterSource::Xml(x),
        (None, Some(j)) => FilterSource::Json(j),
        (None, None) => return Ok(None),
    };
    let parsed = source.parse().map_err(ApiError::from)?;
    if let Some(list) = entities {
        let selected: Vec<String> = serde_json::from_str(list).map_err(ApiError::internal)?;
        if let Some(stray) = parsed.entities.keys().find(|e| !selected.contains(e)) {
            return Err(field_error(
                "invalid_filter",
                "SyncFilters",
                format!("the filters name entity '{stray}', which Entities does not select"),
            )
            .with("entity", stray.as_str()));
        }
    }
    serde_json::to_string(&source)
        .map(Some)
        .map_err(ApiError::internal)
}

fn check_interval(text: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    let d = if text.trim().starts_with('P') {
        parse_duration(text)
    } else {
        Err(String::new())
    }
    .map_err(|_| {
        field_error(
            "invalid_field",
            "SyncInterval",
            format!("SyncInterval '{text}' is not an ISO 8601 duration such as PT1H"),
        )
    })?;
    if d.as_secs() < MIN_INTERVAL_SECS {
        return Err(field_error(
            "invalid_field",
            "SyncInterval",
            format!("SyncInterval must be at least {MIN_INTERVAL_SECS} seconds"),
        ));
    }
    Ok(Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
}

fn accepted(job: &JobRow, status: StatusCode) -> Reply<JobAccepted> {
    let body = JobAccepted::of(job);
    let location = body.location.clone();
    Reply::ok(body)
        .status(status)
        .header(header::LOCATION, location)
}

/// Connects a client org to its server org: registers `{org}` when it does not exist, stores
/// the connection (the password encrypted), and queues the Connect job.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    request_body(content((ConnectRequest = "application/json"), (ConnectRequest = "application/xml"))),
    responses(
        (status = 202, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "already_connected"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "A field is wrong; `field` names it (unknown providers list the known ones)"),
    ))]
#[post("/rest/v1/sync/{org}/ConnectAsync")]
async fn connect_async(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<ConnectRequest>,
) -> Result<Reply<JobAccepted>, ApiError> {
    who.require_role(&[Role::Provider])?;
    let org = OrgName::parse(path.into_inner().org)
        .map_err(|e| ApiError::from(e).with("field", "org"))?;
    let setup = body.into_inner().sync_setup;
    let provider = check_provider(&setup.provider_id)?;
    parse_url(&setup.url).map_err(|m| field_error("invalid_url", "Url", m))?;
    check_credentials(&setup.user_name, &setup.password)?;
    let entities = check_entities(setup.entities)?;
    let filters = check_filters(
        setup.sync_filters_xml,
        setup.sync_filters,
        entities.as_deref(),
    )?;
    let interval = check_interval(setup.sync_interval.as_deref())?;
    let password_enc = Sealer::new(&state.settings.secret_key).seal(&setup.password)?;
    let registration = serde_json::to_string(&setup.registration_info.unwrap_or_default())
        .map_err(ApiError::internal)?;
    let max_tries = state.settings.job_max_tries;
    let added_by = who.subject.clone();
    let now = now_micros();
    let mut row = ConnectionRow {
        org_id: 0,
        provider: provider.provider_id.to_owned(),
        url: setup.url.trim().to_owned(),
        user_name: setup.user_name,
        password_enc,
        entities,
        sync_filters: filters,
        write_offline: setup.write_offline.unwrap_or(false),
        sync_mode: setup.sync_mode.unwrap_or_default().as_str().to_owned(),
        conflict_policy: setup
            .conflict_policy
            .unwrap_or_default()
            .as_str()
            .to_owned(),
        sync_interval_secs: interval,
        state: ConnectionState::Connecting.as_str().to_owned(),
        last_error: None,
        last_sync_on: None,
        created_on: now,
        updated_on: now,
    };
    let job = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let org_row = match orgs::find(conn, org.as_str())? {
                    Some(o) => o,
                    None => orgs::create(
                        conn,
                        &orgs::NewOrg {
                            name: org.as_str(),
                            display_name: None,
                            registration_info: Some(registration),
                            quotas: None,
                            created_on: now,
                        },
                    )?,
                };
                if connections::get(conn, org_row.id)?.is_some() {
                    return Err(ApiError::conflict(
                        "already_connected",
                        format!("organization '{org}' is already connected; PATCH or DELETE its connection"),
                    ));
                }
                row.org_id = org_row.id;
                connections::insert(conn, &row)?;
                job_queue::enqueue(conn, JobKind::Connect, org.as_str(), &added_by, &json!({}), max_tries)
            })
        })
        .await?;
    Ok(accepted(&job, StatusCode::ACCEPTED))
}

/// The org and its connection, for a caller allowed to manage it.
fn connected(conn: &mut DbConn, org: &str) -> Result<(orgs::OrgRow, ConnectionRow), ApiError> {
    let org_row = orgs::require(conn, org)?;
    let connection =
        connections::get(conn, org_row.id)?.ok_or_else(|| connections::not_connected(org))?;
    Ok((org_row, connection))
}

/// Queues the job of `kind` for `org`, or gives the one already queued or running; inside the
/// caller's write transaction and under the org's lock, so two calls cannot both queue one.
fn enqueue_once(
    conn: &mut DbConn,
    kind: JobKind,
    org: &str,
    added_by: &str,
    max_tries: i32,
) -> Result<(JobRow, bool), ApiError> {
    job_queue::enqueue_once(conn, kind, org, added_by, &json!({}), max_tries)
}

/// Checks a sync request against the connection's links.
fn check_sync_request(conn: &mut DbConn, org_id: i64, req: &SyncRequest) -> Result<(), ApiError> {
    let links = connections::links(conn, org_id)?;
    if let Some(entities) = &req.entities {
        if let Some(unknown) = entities
            .iter()
            .find(|e| !links.iter().any(|l| &l.entity == *e))
        {
            return Err(field_error(
                "link_not_found",
                "Entities",
                format!("entity '{unknown}' is not synced by this connection"),
            )
            .with("entity", unknown.as_str()));
        }
    }
    if let Some(ids) = &req.record_ids {
        if req.entities.as_ref().is_none_or(|e| e.len() != 1) {
            return Err(field_error(
                "invalid_field",
                "RecordIds",
                "RecordIds needs exactly one entity in Entities",
            ));
        }
        if ids.is_empty() || ids.len() > 10_000 {
            return Err(field_error(
                "invalid_field",
                "RecordIds",
                "RecordIds holds 1 to 10000 ids",
            ));
        }
        if let Some(bad) = ids
            .iter()
            .find(|id| crate::domain::names::RecordId::parse(id.as_str()).is_err())
        {
            return Err(field_error(
                "invalid_name",
                "RecordIds",
                format!("'{bad}' is not a record id"),
            ));
        }
        if req.full == Some(true) {
            return Err(field_error(
                "invalid_field",
                "Full",
                "a per-item sync (RecordIds) cannot also be Full",
            ));
        }
    }
    Ok(())
}

/// Syncs the client org with its server org: pending client writes up, then the server's
/// changes down. A sync already queued or running for the org is returned instead (200).
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    request_body(content((SyncRequest = "application/json"), (SyncRequest = "application/xml")), description = "Optional"),
    responses(
        (status = 200, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), description = "The sync already queued or running"),
        (status = 202, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), headers(("Location" = String))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The connection is not connected yet"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/rest/v1/sync/{org}/SyncAsync")]
async fn sync_async(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: OptionalBody<SyncRequest>,
) -> Result<Reply<JobAccepted>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let org = path.into_inner().org;
    let request = body.0.into_inner();
    let params = serde_json::to_value(&request).map_err(ApiError::internal)?;
    let added_by = who.subject.clone();
    let max_tries = state.settings.job_max_tries;
    let (job, new) = state
        .db
        .run(move |conn| {
            let (org_row, connection) = connected(conn, &org)?;
            if connection.state != ConnectionState::Connected.as_str() {
                return Err(ApiError::conflict(
                    "not_connected_yet",
                    format!(
                        "the connection is {}; wait for its Connect job",
                        connection.state
                    ),
                ));
            }
            check_sync_request(conn, org_row.id, &request)?;
            write_tx(conn, |conn| {
                job_queue::enqueue_once(conn, JobKind::Sync, &org, &added_by, &params, max_tries)
            })
        })
        .await?;
    Ok(accepted(
        &job,
        if new {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        },
    ))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct JobsAccepted {
    pub jobs: Vec<JobAccepted>,
}

/// One sync job per connected org (an org's sync already queued or running is reused).
#[utoipa::path(tag = "Sync", security(("bearer" = [])),
    responses(
        (status = 202, content((JobsAccepted = "application/json"), (JobsAccepted = "application/xml"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/rest/v1/sync/SyncAllAsync")]
async fn sync_all_async(
    who: Principal,
    state: web::Data<AppState>,
) -> Result<Reply<JobsAccepted>, ApiError> {
    who.require_role(&[Role::Provider])?;
    let added_by = who.subject.clone();
    let max_tries = state.settings.job_max_tries;
    let jobs = state
        .db
        .run(move |conn| {
            let mut out = Vec::new();
            for org in connections::connected_orgs(conn)? {
                let (job, _) = write_tx(conn, |conn| {
                    job_queue::enqueue_once(
                        conn,
                        JobKind::Sync,
                        &org,
                        &added_by,
                        &json!({}),
                        max_tries,
                    )
                })?;
                out.push(JobAccepted::of(&job));
            }
            Ok(out)
        })
        .await?;
    Ok(Reply::ok(JobsAccepted { jobs }).status(StatusCode::ACCEPTED))
}

/// Brings the server's metadata to the client ("update client"); the server always wins.
/// A job already queued or running for the org is returned instead (200).
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), description = "The job already queued or running"),
        (status = 202, content((JobAccepted = "application/json"), (JobAccepted = "application/xml")), headers(("Location" = String))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The connection is not connected yet"),
    ))]
#[post("/rest/v1/sync/{org}/UpdateMetadataAsync")]
async fn update_metadata_async(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<JobAccepted>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let org = path.into_inner().org;
    let added_by = who.subject.clone();
    let max_tries = state.settings.job_max_tries;
    let (job, new) = state
        .db
        .run(move |conn| {
            let (_, connection) = connected(conn, &org)?;
            if connection.state != ConnectionState::Connected.as_str() {
                return Err(ApiError::conflict(
                    "not_connected_yet",
                    format!(
                        "the connection is {}; wait for its Connect job",
                        connection.state
                    ),
                ));
            }
            write_tx(conn, |conn| {
                enqueue_once(conn, JobKind::UpdateMetadata, &org, &added_by, max_tries)
            })
        })
        .await?;
    Ok(accepted(
        &job,
        if new {
            StatusCode::ACCEPTED
        } else {
            StatusCode::OK
        },
    ))
}

/// A link on the wire.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Link {
    pub entity: String,
    pub inbound: bool,
    pub outbound: bool,
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

impl Link {
    fn from_row(row: LinkRow) -> Self {
        Self {
            sync_filter: row
                .sync_filter
                .as_deref()
                .and_then(|f| serde_json::from_str(f).ok()),
            entity: row.entity,
            inbound: row.inbound,
            outbound: row.outbound,
            checkpoint: row.checkpoint,
            needs_full: row.needs_full,
            last_sync_on: row.last_sync_on.map(micros_to_datetime),
        }
    }
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
    pub sync_mode: String,
    pub conflict_policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_interval: Option<String>,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_on: Option<DateTime<Utc>>,
    pub created_on: DateTime<Utc>,
    pub updated_on: DateTime<Utc>,
    pub links: Vec<Link>,
}

impl Connection {
    fn from_rows(org: &str, row: ConnectionRow, links: Vec<LinkRow>) -> Self {
        let source: Option<FilterSource> = row
            .sync_filters
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok());
        let (sync_filters_xml, sync_filters) = match source {
            Some(FilterSource::Xml(x)) => (Some(x), None),
            Some(FilterSource::Json(j)) => (None, Some(j)),
            None => (None, None),
        };
        Self {
            org: org.to_owned(),
            provider_id: row.provider,
            url: row.url,
            user_name: row.user_name,
            entities: row
                .entities
                .as_deref()
                .and_then(|e| serde_json::from_str(e).ok()),
            sync_filters_xml,
            sync_filters,
            write_offline: row.write_offline,
            sync_mode: row.sync_mode,
            conflict_policy: row.conflict_policy,
            sync_interval: row.sync_interval_secs.map(|s| format!("PT{s}S")),
            state: row.state,
            last_error: row.last_error,
            last_sync_on: row.last_sync_on.map(micros_to_datetime),
            created_on: micros_to_datetime(row.created_on),
            updated_on: micros_to_datetime(row.updated_on),
            links: links.into_iter().map(Link::from_row).collect(),
        }
    }
}

fn load_connection(conn: &mut DbConn, org: &str) -> Result<Connection, ApiError> {
    let (org_row, row) = connected(conn, org)?;
    let links = connections::links(conn, org_row.id)?;
    Ok(Connection::from_rows(org, row, links))
}

/// The connection's settings (never the password), state, last sync and links.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, content((Connection = "application/json"), (Connection = "application/xml"))),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/rest/v1/sync/{org}/connection")]
async fn get_connection(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<Connection>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let org = path.into_inner().org;
    Ok(Reply::ok(
        state
            .db
            .run(move |conn| load_connection(conn, &org))
            .await?,
    ))
}

/// `null` and absent told apart: `Some(None)` clears.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ConnectionPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// A new selection; `null`: all of the server's. Brings the metadata again.
    #[serde(default, deserialize_with = "nullable")]
    pub entities: Option<Option<Vec<String>>>,
    /// New filters; `null` clears them. Changed links are read in full at the next sync.
    #[serde(default, deserialize_with = "nullable")]
    pub sync_filters_xml: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub sync_filters: Option<Option<Value>>,
    #[serde(default)]
    pub write_offline: Option<bool>,
    #[serde(default)]
    pub sync_mode: Option<SyncMode>,
    #[serde(default)]
    pub conflict_policy: Option<ConflictPolicy>,
    /// `null` stops the periodic sync.
    #[serde(default, deserialize_with = "nullable")]
    pub sync_interval: Option<Option<String>>,
}

/// Changes settings of the connection. New credentials or Url are used from the next job on;
/// a new entity selection queues an UpdateMetadata job (its `Location` is in the answer's
/// header); new filters are checked against the client's metadata and their links re-read in
/// full at the next sync.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    request_body(content((ConnectionPatch = "application/json"), (ConnectionPatch = "application/xml"))),
    responses(
        (status = 200, content((Connection = "application/json"), (Connection = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[patch("/rest/v1/sync/{org}/connection")]
async fn patch_connection(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<ConnectionPatch>,
) -> Result<Reply<Connection>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let org = path.into_inner().org;
    let patch = body.into_inner();
    if let Some(url) = &patch.url {
        parse_url(url).map_err(|m| field_error("invalid_url", "Url", m))?;
    }
    let new_password = match &patch.password {
        Some(p) => {
            check_credentials("x", p)?;
            Some(Sealer::new(&state.settings.secret_key).seal(p)?)
        }
        None => None,
    };
    if let Some(u) = &patch.user_name {
        check_credentials(u, "x")?;
    }
    let entities = patch.entities.map(check_entities).transpose()?;
    let filters_given = patch.sync_filters_xml.is_some() || patch.sync_filters.is_some();
    let interval = patch
        .sync_interval
        .map(|i| check_interval(i.as_deref()))
        .transpose()?;
    let added_by = who.subject.clone();
    let max_tries = state.settings.job_max_tries;
    let (connection, job) = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let (org_row, mut row) = connected(conn, &org)?;
                if let Some(url) = patch.url {
                    row.url = url.trim().to_owned();
                }
                if let Some(u) = patch.user_name {
                    row.user_name = u;
                }
                if let Some(p) = new_password {
                    row.password_enc = p;
                }
                let reselect = entities.as_ref().is_some_and(|e| *e != row.entities);
                if let Some(e) = entities {
                    row.entities = e;
                }
                if filters_given {
                    row.sync_filters = check_filters(
                        patch.sync_filters_xml.flatten(),
                        patch.sync_filters.flatten(),
                        row.entities.as_deref(),
                    )?;
                    retype_links(conn, org_row.id, &row)?;
                }
                if let Some(w) = patch.write_offline {
                    row.write_offline = w;
                }
                if let Some(m) = patch.sync_mode {
                    row.sync_mode = m.as_str().to_owned();
                }
                if let Some(c) = patch.conflict_policy {
                    row.conflict_policy = c.as_str().to_owned();
                }
                if let Some(i) = interval {
                    row.sync_interval_secs = i;
                }
                connections::save(conn, &row)?;
                let job = if reselect && row.state == ConnectionState::Connected.as_str() {
                    Some(enqueue_once(conn, JobKind::UpdateMetadata, &org, &added_by, max_tries)?.0)
                } else {
                    None
                };
                Ok((load_connection(conn, &org)?, job))
            })
        })
        .await?;
    let reply = Reply::ok(connection);
    Ok(match job {
        Some(j) => reply.header(header::LOCATION, format!("/rest/v1/jobs/{}", j.id)),
        None => reply,
    })
}

/// Types the connection's filters by the client's metadata (a copy of the server's) and
/// stores each link's; a link whose filter changed is read in full at the next sync.
fn retype_links(conn: &mut DbConn, org_id: i64, row: &ConnectionRow) -> Result<(), ApiError> {
    let defs = metadata::entities(conn, org_id)?;
    let filters = match &row.sync_filters {
        None => None,
        Some(text) => {
            let source: FilterSource = serde_json::from_str(text).map_err(ApiError::internal)?;
            let parsed = source.parse().map_err(ApiError::from)?;
            Some(
                parsed
                    .validate(&|name| defs.iter().find(|d| d.name.as_str() == name))
                    .map_err(ApiError::from)?,
            )
        }
    };
    for mut link in connections::links(conn, org_id)? {
        let filter = crate::sync::link_filter(filters.as_ref(), &link.entity);
        if filter != link.sync_filter {
            link.sync_filter = filter;
            link.needs_full = true;
            connections::save_link(conn, &link)?;
        }
    }
    Ok(())
}

/// Removes the connection and its links and cancels the org's queued jobs; the org and its
/// records stay.
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[delete("/rest/v1/sync/{org}/connection")]
async fn delete_connection(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<HttpResponse, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let org = path.into_inner().org;
    state
        .db
        .run(move |conn| {
            let (org_row, _) = connected(conn, &org)?;
            connections::delete(conn, org_row.id)?;
            let queued = job_queue::list(
                conn,
                &job_queue::JobFilter {
                    org: Some(org.clone()),
                    status: Some(crate::jobs::JobStatus::Queued),
                    ..Default::default()
                },
                1000,
            )?;
            for job in queued {
                job_queue::cancel(conn, &job.id)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
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
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/rest/v1/sync/{org}/links")]
async fn list_links(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<LinkList>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let org = path.into_inner().org;
    let links = state
        .db
        .run(move |conn| {
            let (org_row, _) = connected(conn, &org)?;
            connections::links(conn, org_row.id)
        })
        .await?;
    Ok(Reply::ok(LinkList {
        links: links.into_iter().map(Link::from_row).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct LinkPatch {
    #[serde(default)]
    pub inbound: Option<bool>,
    #[serde(default)]
    pub outbound: Option<bool>,
    /// The entity's filter in its JSON form (`{"Type": "and", "Conditions": […]}`); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    pub sync_filter: Option<Option<Value>>,
}

/// Switches a link's directions or changes its filter (a changed filter re-reads the link in full).
#[utoipa::path(tag = "Sync", security(("bearer" = [])), params(EntityPath),
    request_body(content((LinkPatch = "application/json"), (LinkPatch = "application/xml"))),
    responses(
        (status = 200, content((Link = "application/json"), (Link = "application/xml"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
#[patch("/rest/v1/sync/{org}/links/{entity}")]
async fn patch_link(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<EntityPath>,
    body: Body<LinkPatch>,
) -> Result<Reply<Link>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let EntityPath { org, entity } = path.into_inner();
    let patch = body.into_inner();
    let link = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let (org_row, _) = connected(conn, &org)?;
                let mut link = connections::link(conn, org_row.id, &entity)?.ok_or_else(|| {
                    ApiError::not_found(
                        "link_not_found",
                        format!("entity '{entity}' is not synced by this connection"),
                    )
                    .with("entity", entity.as_str())
                })?;
                if let Some(i) = patch.inbound {
                    link.inbound = i;
                }
                if let Some(o) = patch.outbound {
                    link.outbound = o;
                }
                if let Some(filter) = patch.sync_filter {
                    let typed = match filter {
                        None => None,
                        Some(f) => {
                            let def = metadata::require_entity(conn, org_row.id, &entity)?;
                            let parsed = SyncFilters::from_json(&json!({ entity.as_str(): f }))
                                .map_err(ApiError::from)?;
                            let valid = parsed
                                .validate(&|name| (name == def.name.as_str()).then_some(&def))
                                .map_err(ApiError::from)?;
                            crate::sync::link_filter(Some(&valid), &entity)
                        }
                    };
                    if typed != link.sync_filter {
                        link.sync_filter = typed;
                        link.needs_full = true;
                    }
                }
                connections::save_link(conn, &link)?;
                Ok(link)
            })
        })
        .await?;
    Ok(Reply::ok(Link::from_row(link)))
}
