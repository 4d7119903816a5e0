//! Organizations, their users and their usage against quotas.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::responses::{AdminWrite, ListQuery, ProviderWrite, Read};
use super::{split_page, OrgPath, PageQuery};
use crate::auth::{password, Principal, Role};
use crate::db::{self, micros_to_datetime, now_micros, orgs, records, users, Json};
use crate::domain::error::org_not_found;
use crate::domain::names::OrgName;
use crate::error::{ApiError, Code, Problem};
pub use crate::wire::orgs::{Quotas, RegistrationInfo};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(create_org, list_orgs, get_org, change_org, delete_org, create_user, usage),
    tags((name = "Organizations", description = "Hosted organizations, their users and usage"))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_org)
        .service(list_orgs)
        .service(get_org)
        .service(change_org)
        .service(delete_org)
        .service(create_user)
        .service(usage);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateOrg {
    #[schema(example = "contoso", pattern = "^[a-z0-9][a-z0-9-]{1,62}$")]
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub registration_info: Option<RegistrationInfo>,
    #[serde(default)]
    pub quotas: Option<Quotas>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Org {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_info: Option<RegistrationInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quotas: Option<Quotas>,
    pub created_on: DateTime<Utc>,
    /// The org's latest change version.
    pub version: i64,
    pub metadata_version: i64,
}

impl Org {
    fn from_row(row: orgs::OrgRow) -> Self {
        Self {
            registration_info: row.registration_info.map(Json::into_inner),
            quotas: row.quotas.map(Json::into_inner),
            name: row.name,
            display_name: row.display_name,
            created_on: micros_to_datetime(row.created_on),
            version: row.last_version,
            metadata_version: row.metadata_version,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct OrgList {
    pub orgs: Vec<Org>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

fn check_text(field: &'static str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > max || v.chars().any(char::is_control) => {
            Err(ApiError::new(
                Code::InvalidField,
                format!("{field} must be at most {max} characters, without control characters"),
            )
            .field(field))
        }
        _ => Ok(()),
    }
}

fn check_registration(info: &RegistrationInfo) -> Result<(), ApiError> {
    for (field, value) in [
        ("RegistrationInfo.Email", &info.email),
        ("RegistrationInfo.FirstName", &info.first_name),
        ("RegistrationInfo.LastName", &info.last_name),
        ("RegistrationInfo.Company", &info.company),
    ] {
        check_text(field, value.as_deref(), 256)?;
    }
    Ok(())
}

/// A change of an org; every member is optional.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OrgPatch {
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::wire::sync::nullable")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// Replaces the registration info whole.
    #[serde(default)]
    pub registration_info: Option<RegistrationInfo>,
    /// Replaces the quotas whole (the provider only); `null` removes them.
    #[serde(default, deserialize_with = "crate::wire::sync::nullable")]
    #[schema(value_type = Option<Quotas>)]
    pub quotas: Option<Option<Quotas>>,
}

/// Changes an organization's display name, registration info or quotas (as MachPanel adjusts
/// a subscription's resources). An org admin may change the first two; quotas are the
/// provider's.
#[utoipa::path(tag = "Organizations", security(("bearer" = [])), params(OrgPath),
    request_body(content(
        (OrgPatch = "application/json", example = json!({"DisplayName": "Contoso Group", "Quotas": {"MaxRecords": 50000, "Entities": {"account": 10000}}})),
        (OrgPatch = "application/xml", example = json!("<OrgPatch><DisplayName>Contoso Group</DisplayName><Quotas><MaxRecords>50000</MaxRecords></Quotas></OrgPatch>")),
    )),
    responses(
        (status = 200, content((Org = "application/json"), (Org = "application/xml"))),
        AdminWrite,
    ))]
#[patch("/rest/v1/orgs/{org}")]
async fn change_org(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<OrgPatch>,
) -> Result<Reply<Org>, ApiError> {
    let patch = body.into_inner();
    let roles: &[Role] = if patch.quotas.is_some() {
        &[Role::Provider]
    } else {
        &[Role::Provider, Role::OrgAdmin]
    };
    who.require(&path.org, roles)?;
    if let Some(Some(name)) = &patch.display_name {
        check_text("DisplayName", Some(name), 256)?;
    }
    if let Some(info) = &patch.registration_info {
        check_registration(info)?;
    }
    let name = path.into_inner().org;
    let change = orgs::OrgChange {
        display_name: patch.display_name,
        registration_info: patch.registration_info,
        quotas: patch.quotas,
    };
    let row = state
        .db
        .run(move |conn| orgs::change(conn, &name, change))
        .await?;
    Ok(Reply::ok(Org::from_row(row)))
}

/// Registers an organization.
#[utoipa::path(tag = "Organizations", security(("bearer" = [])),
    request_body(content(
        (CreateOrg = "application/json", example = json!({"Name": "contoso", "DisplayName": "Contoso Ltd", "RegistrationInfo": {"Email": "admin@contoso.example", "Company": "Contoso Ltd"}, "Quotas": {"MaxRecords": 100000}})),
        (CreateOrg = "application/xml", example = json!("<CreateOrg><Name>contoso</Name><DisplayName>Contoso Ltd</DisplayName><RegistrationInfo><Email>admin@contoso.example</Email><Company>Contoso Ltd</Company></RegistrationInfo><Quotas><MaxRecords>100000</MaxRecords></Quotas></CreateOrg>")),
    )),
    responses(
        (status = 201, content((Org = "application/json"), (Org = "application/xml"))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The name is taken"),
        ProviderWrite,
    ))]
#[post("/rest/v1/orgs")]
async fn create_org(
    who: Principal,
    state: web::Data<AppState>,
    body: Body<CreateOrg>,
) -> Result<Reply<Org>, ApiError> {
    who.require_role(&[Role::Provider])?;
    let req = body.into_inner();
    let name = OrgName::parse(req.name).map_err(|e| ApiError::from(e).field("Name"))?;
    check_text("DisplayName", req.display_name.as_deref(), 256)?;
    let info = req.registration_info.unwrap_or_default();
    check_registration(&info)?;
    let registration_info = Some(Json::new(info));
    let quotas = req.quotas.map(Json::new);
    let display_name = req.display_name;
    let row = state
        .db
        .run(move |conn| {
            orgs::create(
                conn,
                &orgs::NewOrg {
                    name: name.as_str(),
                    display_name: display_name.as_deref(),
                    registration_info,
                    quotas,
                    created_on: now_micros(),
                    uid: crate::db::new_uid(),
                },
            )
        })
        .await?;
    let location = format!("/rest/v1/orgs/{}", row.name);
    Ok(Reply::created(Org::from_row(row)).header(header::LOCATION, location))
}

/// Lists organizations: all of them for the provider, its own for an org role.
#[utoipa::path(tag = "Organizations", security(("bearer" = [])), params(PageQuery),
    responses(
        (status = 200, content((OrgList = "application/json"), (OrgList = "application/xml"))),
        ListQuery,
    ))]
#[get("/rest/v1/orgs")]
async fn list_orgs(
    who: Principal,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
) -> Result<Reply<OrgList>, ApiError> {
    let limit = page.limit()?;
    let after = page.after()?;
    let own = who.org.clone();
    let rows = state
        .db
        .run(move |conn| match own {
            Some(org) => Ok(orgs::find(conn, org.as_str())?
                .filter(|o| after.as_deref().is_none_or(|a| o.name.as_str() > a))
                .into_iter()
                .collect()),
            None => orgs::list(conn, after.as_deref(), limit + 1),
        })
        .await?;
    let (rows, next) = split_page(rows, limit, |r: &orgs::OrgRow| r.name.clone());
    let orgs = rows.into_iter().map(Org::from_row).collect();
    Ok(Reply::ok(OrgList { orgs, next }))
}

/// One organization.
#[utoipa::path(tag = "Organizations", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, content((Org = "application/json"), (Org = "application/xml"))),
        Read,
    ))]
#[get("/rest/v1/orgs/{org}")]
async fn get_org(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<Org>, ApiError> {
    who.can_see(&path.org)?;
    let name = path.into_inner().org;
    let row = state.db.run(move |conn| orgs::require(conn, &name)).await?;
    Ok(Reply::ok(Org::from_row(row)))
}

/// Deletes an organization with its users, metadata and records.
#[utoipa::path(tag = "Organizations", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 204, description = "Deleted"),
        super::responses::AdminAction,
    ))]
#[delete("/rest/v1/orgs/{org}")]
async fn delete_org(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<HttpResponse, ApiError> {
    who.require(&path.org, &[Role::Provider])?;
    let name = path.into_inner().org;
    let gone = state.db.run({
        let name = name.clone();
        move |conn| orgs::delete(conn, &name)
    });
    if gone.await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(org_not_found(&name).into())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateUser {
    /// 1 to 256 characters, without control characters.
    #[schema(example = "sync@contoso.example", min_length = 1, max_length = 256)]
    pub user_name: String,
    /// 8 to 1024 characters; stored as an argon2id hash.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    pub role: UserRole,
}

/// The role of a user of an org (the provider role is not an org's to give).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserRole {
    OrgAdmin,
    OrgUser,
}

impl From<UserRole> for Role {
    fn from(r: UserRole) -> Self {
        match r {
            UserRole::OrgAdmin => Role::OrgAdmin,
            UserRole::OrgUser => Role::OrgUser,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    pub user_name: String,
    pub role: Role,
    pub created_on: DateTime<Utc>,
}

/// Adds a user to an organization.
#[utoipa::path(tag = "Organizations", security(("bearer" = [])), params(OrgPath),
    request_body(content(
        (CreateUser = "application/json", example = json!({"UserName": "sync@contoso.example", "Password": "correct horse battery staple", "Role": "org_user"})),
        (CreateUser = "application/xml", example = json!("<CreateUser><UserName>sync@contoso.example</UserName><Password>correct horse battery staple</Password><Role>org_user</Role></CreateUser>")),
    )),
    responses(
        (status = 201, content((User = "application/json"), (User = "application/xml"))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "The user name is taken"),
        AdminWrite,
    ))]
#[post("/rest/v1/orgs/{org}/users")]
async fn create_user(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
    body: Body<CreateUser>,
) -> Result<Reply<User>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let req = body.into_inner();
    let name = password::check_new_user(&req.user_name, &req.password)?;
    let given = req.password;
    let hash = web::block(move || password::hash(&given))
        .await
        .map_err(ApiError::internal)??;
    let org = path.into_inner().org;
    let role = Role::from(req.role);
    let row = state
        .db
        .run(move |conn| {
            let org = orgs::require(conn, &org)?;
            users::create(
                conn,
                &users::NewUser {
                    org_id: org.id,
                    user_name: &name,
                    password_hash: &hash,
                    role,
                    created_on: now_micros(),
                    uid: crate::db::new_uid(),
                },
            )
        })
        .await?;
    Ok(Reply::created(User {
        user_name: row.user_name,
        role,
        created_on: micros_to_datetime(row.created_on),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct EntityUsage {
    pub entity: String,
    pub records: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<u64>,
    pub over_quota: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Usage {
    pub org: String,
    pub records: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_records: Option<u64>,
    /// True when the org or any entity is over its quota.
    pub over_quota: bool,
    pub entities: Vec<EntityUsage>,
}

/// Live records per entity against the org's quotas.
#[utoipa::path(tag = "Organizations", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, content((Usage = "application/json"), (Usage = "application/xml"))),
        Read,
    ))]
#[get("/rest/v1/orgs/{org}/usage")]
async fn usage(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<Usage>, ApiError> {
    who.can_see(&path.org)?;
    let name = path.into_inner().org;
    let (row, counts) = state
        .db
        .run(move |conn| {
            let org = orgs::require(conn, &name)?;
            let counts = records::counts(conn, org.id)?;
            Ok::<_, db::DbError>((org, counts))
        })
        .await?;
    let org = Org::from_row(row);
    let quotas = org.quotas.unwrap_or_default();
    let per_entity = quotas.entities.unwrap_or_default();
    let mut entities: Vec<EntityUsage> = counts
        .into_iter()
        .map(|(entity, n)| {
            let records = u64::try_from(n).unwrap_or(0);
            let quota = per_entity.get(&entity).copied();
            EntityUsage {
                over_quota: quota.is_some_and(|q| records > q),
                entity,
                records,
                quota,
            }
        })
        .collect();
    for (entity, quota) in &per_entity {
        if !entities.iter().any(|e| &e.entity == entity) {
            entities.push(EntityUsage {
                entity: entity.clone(),
                records: 0,
                quota: Some(*quota),
                over_quota: false,
            });
        }
    }
    entities.sort_by(|a, b| a.entity.cmp(&b.entity));
    let records: u64 = entities.iter().map(|e| e.records).sum();
    let over_quota =
        quotas.max_records.is_some_and(|m| records > m) || entities.iter().any(|e| e.over_quota);
    Ok(Reply::ok(Usage {
        org: org.name,
        records,
        max_records: quotas.max_records,
        over_quota,
        entities,
    }))
}
