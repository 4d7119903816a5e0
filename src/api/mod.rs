//! HTTP: one file per resource, each with its `configure` and its own OpenAPI part.

pub mod auth;
pub mod batch;
pub mod body;
pub mod changes;
pub mod compare;
pub mod conflicts;
pub mod connection;
pub mod console;
pub mod explain;
pub mod jobs;
pub mod links;
pub mod metadata;
pub mod ops;
pub mod orgs;
pub mod overview;
pub mod problem;
pub mod quarantine;
pub mod records;
pub mod responses;
pub mod snapshots;
pub mod sync;
pub mod timeline;
pub mod transactions;
pub mod xml;

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

use crate::error::{ApiError, Code, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "orgsync",
        description = "Keeps a server organization and a client organization hosted here in step: \
                       metadata, records, change feed, sync jobs. Every body is JSON or XML (Content-Type in, Accept out) \
                       with PascalCase names; every error is an RFC 9457 problem with a stable `code`.",
        license(name = "Apache-2.0")
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth)
)]
struct RootDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The whole OpenAPI document, as served and as committed in `openapi/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = RootDoc::openapi();
    doc.merge(ops::Doc::openapi());
    doc.merge(auth::Doc::openapi());
    doc.merge(orgs::Doc::openapi());
    doc.merge(metadata::Doc::openapi());
    doc.merge(records::Doc::openapi());
    doc.merge(batch::Doc::openapi());
    doc.merge(changes::Doc::openapi());
    doc.merge(connection::Doc::openapi());
    doc.merge(sync::Doc::openapi());
    doc.merge(links::Doc::openapi());
    doc.merge(compare::Doc::openapi());
    doc.merge(overview::Doc::openapi());
    doc.merge(explain::Doc::openapi());
    doc.merge(timeline::Doc::openapi());
    doc.merge(snapshots::Doc::openapi());
    doc.merge(jobs::Doc::openapi());
    doc.merge(transactions::Doc::openapi());
    doc.merge(conflicts::Doc::openapi());
    sign_in_as_alternative(&mut doc);
    responses::fill_examples(&mut doc);
    doc
}

/// Swagger UI's Authorize dialog can sign in with a user name and password (the OAuth2
/// password grant of `POST /rest/v1/auth/token`) instead of a pasted token: every operation
/// that takes a bearer token takes the one it gets too.
fn sign_in_as_alternative(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::{Flow, OAuth2, Password, Scopes, SecurityRequirement};
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "signin",
        SecurityScheme::OAuth2(OAuth2::with_description(
            [Flow::Password(Password::new(
                "/rest/v1/auth/token",
                Scopes::new(),
            ))],
            "A user name and password: `org/user` for a user of an org, the bare name for a \
             provider user (`orgsync user add --provider NAME`).",
        )),
    );
    let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
    for op in operations_mut(doc) {
        if let Some(security) = &mut op.security {
            if security.contains(&bearer) {
                security.push(SecurityRequirement::new("signin", Vec::<String>::new()));
            }
        }
    }
}

/// Every operation of the document, to change.
fn operations_mut(
    doc: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
    })
}

/// The document as pretty JSON with a final newline: the bytes of `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let mut text = openapi().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    ops::configure(cfg);
    console::configure(cfg);
    auth::configure(cfg);
    orgs::configure(cfg);
    metadata::configure(cfg);
    records::configure(cfg);
    batch::configure(cfg);
    changes::configure(cfg);
    overview::configure(cfg);
    connection::configure(cfg);
    sync::configure(cfg);
    links::configure(cfg);
    compare::configure(cfg);
    explain::configure(cfg);
    timeline::configure(cfg);
    snapshots::configure(cfg);
    jobs::configure(cfg);
    transactions::configure(cfg);
    conflicts::configure(cfg);
}

/// The route table of the contract, used to tell a wrong method (405) from an unknown path.
pub struct Routes(Vec<Route>);

struct Route {
    pattern: regex::Regex,
    /// Segments named literally: where two templates match a path, the one naming more of
    /// it literally is the route (`…/transactions/SetAllToPending`, not `…/transactions/{id}`).
    literals: usize,
    methods: Vec<Method>,
}

impl Routes {
    pub fn from_openapi() -> Self {
        let doc = openapi();
        let routes = doc
            .paths
            .paths
            .iter()
            .filter_map(|(path, item)| {
                let mut pattern = String::from("^");
                let mut literals = 0;
                for part in path.split('/').filter(|p| !p.is_empty()) {
                    pattern.push('/');
                    if part.starts_with('{') {
                        pattern.push_str("[^/]+");
                    } else {
                        literals += 1;
                        pattern.push_str(&regex::escape(part));
                    }
                }
                pattern.push_str("/?$");
                let methods = item
                    .get
                    .as_ref()
                    .map(|_| Method::GET)
                    .into_iter()
                    .chain(item.post.as_ref().map(|_| Method::POST))
                    .chain(item.put.as_ref().map(|_| Method::PUT))
                    .chain(item.patch.as_ref().map(|_| Method::PATCH))
                    .chain(item.delete.as_ref().map(|_| Method::DELETE))
                    .collect();
                regex::Regex::new(&pattern).ok().map(|pattern| Route {
                    pattern,
                    literals,
                    methods,
                })
            })
            .collect();
        Self(routes)
    }
}

impl Routes {
    /// The methods of the route `path` names (none when it names no route).
    fn allowed(&self, path: &str) -> Vec<&Method> {
        let matching: Vec<&Route> = self.0.iter().filter(|r| r.pattern.is_match(path)).collect();
        let best = matching.iter().map(|r| r.literals).max().unwrap_or(0);
        matching
            .into_iter()
            .filter(|r| r.literals == best)
            .flat_map(|r| &r.methods)
            .collect()
    }
}

/// The app's default service: for a known path, `OPTIONS` answers 204 with `Allow` and
/// another method 405 with `Allow`; an unknown path is 404.
pub async fn no_route(
    req: HttpRequest,
    routes: web::Data<Routes>,
) -> Result<actix_web::HttpResponse, ApiError> {
    let path = req.path();
    let allowed = routes.allowed(path);
    if allowed.is_empty() {
        return Err(ApiError::new(
            Code::RouteNotFound,
            format!("no route {} {path}", req.method()),
        ));
    }
    let names: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
    if req.method() == Method::OPTIONS {
        return Ok(actix_web::HttpResponse::NoContent()
            .insert_header((header::ALLOW, format!("OPTIONS, {}", names.join(", "))))
            .finish());
    }
    Err(ApiError::with_status(
        StatusCode::METHOD_NOT_ALLOWED,
        Code::MethodNotAllowed,
        format!(
            "{} is not allowed on {path}; use {}",
            req.method(),
            names.join(", ")
        ),
    )
    .with_header(header::ALLOW, names.join(", ")))
}

/// `{org}` in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OrgPath {
    /// The organization's name.
    pub org: String,
}

/// `{org}/…/{entity}` in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EntityPath {
    pub org: String,
    /// The entity's logical name.
    pub entity: String,
}

/// `{org}/entities/{entity}/records/{id}` in a path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RecordPath {
    pub org: String,
    pub entity: String,
    /// The record's id.
    pub id: String,
}

/// Paging of a list: `?Limit=&Cursor=`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 1000 (100 when absent).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `Next` of the previous page.
    #[param(
        pattern = "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2,3})?$",
        max_length = 1024
    )]
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(100),
            Some(n @ 1..=1000) => Ok(i64::from(n)),
            Some(n) => Err(ApiError::new(
                Code::InvalidLimit,
                format!("Limit must be 1 to 1000, not {n}"),
            )
            .field("Limit")),
        }
    }

    /// The position the cursor names (an opaque token of [`encode_cursor`]). Any cursor of
    /// the documented form names a position; one that is not base64url is refused.
    pub fn after(&self) -> Result<Option<String>, ApiError> {
        use base64::Engine;
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        if cursor.len() > 1024 {
            return Err(invalid_cursor());
        }
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .map(|b| Some(String::from_utf8_lossy(&b).into_owned()))
            .map_err(|_| invalid_cursor())
    }
}

pub fn invalid_cursor() -> ApiError {
    ApiError::new(Code::InvalidCursor, "Cursor is not one this service gave").field("Cursor")
}

/// The cursor of the page after `rows`, when there is more.
pub fn next_cursor<R>(rows: &[R], more: bool, key: impl Fn(&R) -> String) -> Option<String> {
    rows.last().filter(|_| more).map(|r| encode_cursor(&key(r)))
}

/// One page of `rows` read with one row past the page (`limit + 1`): the page, and the
/// cursor of the next one when there is more.
pub fn split_page<R>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> String,
) -> (Vec<R>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more {
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    (rows, next)
}

pub fn encode_cursor(position: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(position)
}

/// A short confirmation body (`{Status: "ok"}`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Status {
    pub status: String,
}
