//! An org's metadata: its entities and their typed attributes.

use actix_web::http::StatusCode;
use actix_web::{delete, get, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::body::{Body, Reply};
use super::responses::{AdminAction, AdminWrite, Read};
use super::{EntityPath, OrgPath};
use crate::auth::{Principal, Role};
use crate::db::{connections, metadata, orgs, DbConn};
use crate::domain::error::entity_not_found;
use crate::domain::metadata::{EntityDef, EntityDefinitionInput};
use crate::domain::names::LogicalName;
use crate::error::{ApiError, Code, Problem};
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(get_metadata, put_entity, delete_entity),
    components(schemas(EntityDef, crate::domain::metadata::AttributeDef, crate::domain::metadata::AttributeType, crate::domain::metadata::PicklistOption)),
    tags((name = "Metadata", description = "Entities and their typed attributes"))
)]
pub struct Doc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(get_metadata)
        .service(put_entity)
        .service(delete_entity);
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Metadata {
    /// Changes whenever an entity is defined, redefined or dropped.
    pub version: i64,
    pub entities: Vec<EntityDef>,
}

/// The org, unless it is a connected client org, whose metadata only its server may change.
fn unmanaged(conn: &mut DbConn, name: &str) -> Result<orgs::OrgRow, ApiError> {
    let org = orgs::require(conn, name)?;
    if connections::get(conn, org.id)?.is_some() {
        return Err(ApiError::new(
            Code::MetadataManagedByServer,
            format!("'{name}' is a connected client org: its metadata comes from the server (UpdateMetadataAsync)"),
        ));
    }
    Ok(org)
}

/// Every entity of the org with its attributes.
#[utoipa::path(tag = "Metadata", security(("bearer" = [])), params(OrgPath),
    responses(
        (status = 200, content((Metadata = "application/json"), (Metadata = "application/xml"))),
        Read,
    ))]
#[get("/rest/v1/orgs/{org}/metadata")]
async fn get_metadata(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<OrgPath>,
) -> Result<Reply<Metadata>, ApiError> {
    who.can_see(&path.org)?;
    let name = path.into_inner().org;
    let (version, entities) = state
        .db
        .run(move |conn| {
            let org = orgs::require(conn, &name)?;
            Ok::<_, ApiError>((org.metadata_version, metadata::entities(conn, org.id)?))
        })
        .await?;
    Ok(Reply::ok(Metadata { version, entities }))
}

/// Defines or redefines an entity. Existing records keep their values; a write must fit the
/// new definition.
#[utoipa::path(tag = "Metadata", security(("bearer" = [])), params(EntityPath),
    request_body(content(
        (EntityDefinitionInput = "application/json", example = json!({"DisplayName": "Account", "PrimaryName": "name", "Attributes": [{"Name": "name", "Type": "String", "Required": true, "MaxLength": 160}, {"Name": "emailaddress1", "Type": "String", "MaxLength": 100}, {"Name": "revenue", "Type": "Money"}, {"Name": "statecode", "Type": "Picklist", "Options": [{"Value": 0, "Label": "Active"}, {"Value": 1, "Label": "Inactive"}]}]})),
        (EntityDefinitionInput = "application/xml", example = json!("<EntityDefinitionInput><DisplayName>Account</DisplayName><PrimaryName>name</PrimaryName><Attributes><Attribute><Name>name</Name><Type>String</Type><Required>true</Required><MaxLength>160</MaxLength></Attribute><Attribute><Name>emailaddress1</Name><Type>String</Type><MaxLength>100</MaxLength></Attribute><Attribute><Name>revenue</Name><Type>Money</Type></Attribute><Attribute><Name>statecode</Name><Type>Picklist</Type><Options><Option><Value>0</Value><Label>Active</Label></Option><Option><Value>1</Value><Label>Inactive</Label></Option></Options></Attribute></Attributes></EntityDefinitionInput>")),
    )),
    responses(
        (status = 200, content((EntityDef = "application/json"), (EntityDef = "application/xml")), description = "Redefined"),
        (status = 201, content((EntityDef = "application/json"), (EntityDef = "application/xml")), description = "Defined", headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "metadata_managed_by_server: the org is a connected client org"),
        AdminWrite,
    ))]
#[put("/rest/v1/orgs/{org}/metadata/entities/{entity}")]
async fn put_entity(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<EntityPath>,
    body: Body<EntityDefinitionInput>,
) -> Result<Reply<EntityDef>, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let EntityPath { org, entity } = path.into_inner();
    let location = format!("/rest/v1/orgs/{org}/metadata/entities/{entity}");
    let name = LogicalName::parse(entity).map_err(|e| ApiError::from(e).field("entity"))?;
    let def = body.into_inner().into_entity(name).map_err(|e| {
        let err = ApiError::new(Code::InvalidDefinition, e.message);
        match e.attribute {
            Some(a) => err.with("attribute", a),
            None => err,
        }
    })?;
    let stored = def.clone();
    let created = state
        .db
        .run(move |conn| {
            let org = unmanaged(conn, &org)?;
            Ok::<_, ApiError>(metadata::put_entity(conn, org.id, &stored)?)
        })
        .await?;
    let reply = Reply::ok(def);
    Ok(if created {
        reply
            .status(StatusCode::CREATED)
            .header(actix_web::http::header::LOCATION, location)
    } else {
        reply
    })
}

/// Drops an entity and all its records.
#[utoipa::path(tag = "Metadata", security(("bearer" = [])), params(EntityPath),
    responses(
        (status = 204, description = "Dropped"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "metadata_managed_by_server: the org is a connected client org"),
        AdminAction,
    ))]
#[delete("/rest/v1/orgs/{org}/metadata/entities/{entity}")]
async fn delete_entity(
    who: Principal,
    state: web::Data<AppState>,
    path: web::Path<EntityPath>,
) -> Result<HttpResponse, ApiError> {
    who.require(&path.org, &[Role::Provider, Role::OrgAdmin])?;
    let EntityPath { org, entity } = path.into_inner();
    let name = entity.clone();
    let dropped = state
        .db
        .run(move |conn| {
            let org = unmanaged(conn, &org)?;
            Ok::<_, ApiError>(metadata::drop_entity(conn, org.id, &name)?)
        })
        .await?;
    if dropped {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(entity_not_found(&entity).into())
    }
}
