//! The one error type. Every error the service answers, its own and the framework's, leaves as
//! an RFC 9457 problem with a stable snake_case `code`; [`problem_middleware`] renders it as
//! XML when XML was asked for, and turns any bare error response into a problem.

use std::borrow::Cow;
use std::fmt;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::api::body::wants_xml;

pub const PROBLEM_JSON: &str = "application/problem+json";
pub const PROBLEM_XML: &str = "application/problem+xml";
const PROBLEM_XML_NS: &str = "urn:ietf:rfc:7807";

/// An error on its way to the caller (boxed: errors are rare, results are everywhere).
#[derive(Clone)]
pub struct ApiError(Box<Inner>);

#[derive(Clone)]
struct Inner {
    status: StatusCode,
    code: Cow<'static, str>,
    detail: String,
    extensions: Map<String, Value>,
    headers: Vec<(header::HeaderName, String)>,
    /// The underlying cause of an unexpected error, logged once, never sent.
    cause: Option<String>,
}

/// The problem body (RFC 9457) as it is sent; `code` is stable and meant for programs.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
#[schema(as = Problem)]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(example = "urn:orgsync:problem:org_not_found")]
    pub kind: String,
    #[schema(example = "Not Found")]
    pub title: String,
    #[schema(example = 404)]
    pub status: u16,
    #[schema(example = "organization 'contoso' does not exist")]
    pub detail: String,
    #[schema(example = "org_not_found")]
    pub code: String,
    /// Members naming what is at fault, such as `attribute`, `entity`, `operator` or `field`.
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub extensions: Map<String, Value>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
    ) -> Self {
        Self(Box::new(Inner {
            status,
            code: code.into(),
            detail: detail.into(),
            extensions: Map::new(),
            headers: Vec::new(),
            cause: None,
        }))
    }

    /// Adds a member naming what is at fault (`attribute`, `entity`, …).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.extensions.insert(key.to_owned(), value.into());
        self
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.0.headers.push((name, value.into()));
        self
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
            .with_header(header::WWW_AUTHENTICATE, "Bearer")
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            detail,
        )
    }
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }
    /// Something that should not happen: the cause is logged, the caller gets a plain 500.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the service failed to handle the request; it has been logged",
        );
        e.0.cause = Some(cause.to_string());
        e
    }
    pub fn pool(e: impl fmt::Display) -> Self {
        let mut err = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database did not answer in time",
        );
        err.0.cause = Some(e.to_string());
        err
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }
    pub fn code(&self) -> &str {
        &self.0.code
    }
    pub fn detail(&self) -> &str {
        &self.0.detail
    }

    pub fn to_problem(&self) -> Problem {
        Problem {
            kind: format!("urn:orgsync:problem:{}", self.0.code),
            title: self
                .0
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_owned(),
            status: self.0.status.as_u16(),
            detail: self.0.detail.clone(),
            code: self.0.code.to_string(),
            extensions: self.0.extensions.clone(),
        }
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.0.status.as_u16())
            .field("code", &self.0.code)
            .field("detail", &self.0.detail)
            .field("cause", &self.0.cause)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.0.code,
            self.0.status.as_u16(),
            self.0.detail
        )
    }
}

impl std::error::Error for ApiError {}

/// The rendered problem travels with the response so the middleware can re-render it as XML.
#[derive(Clone)]
struct ProblemValue(Value);

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        if self.0.status.is_server_error() {
            tracing::error!(code = %self.0.code, cause = self.0.cause.as_deref().unwrap_or(""), "{}", self.0.detail);
        }
        problem_response(self.0.status, &self.0.headers, self.to_problem())
    }
}

fn problem_response(
    status: StatusCode,
    headers: &[(header::HeaderName, String)],
    problem: Problem,
) -> HttpResponse<BoxBody> {
    let value = serde_json::to_value(&problem).unwrap_or(Value::Null);
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
    for (name, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            res.insert_header((name.clone(), v));
        }
    }
    let mut res = res.body(value.to_string());
    res.extensions_mut().insert(ProblemValue(value));
    res
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::not_found("not_found", "the resource does not exist"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                let mut err = Self::conflict("already_exists", "the resource already exists");
                err.0.cause = Some(info.message().to_owned());
                err
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                Self::unavailable("the database was busy; retry the request")
            }
            other => Self::internal(format!("database: {other}")),
        }
    }
}

impl From<crate::domain::names::InvalidName> for ApiError {
    fn from(e: crate::domain::names::InvalidName) -> Self {
        Self::unprocessable("invalid_name", e.to_string()).with("value", e.value)
    }
}

impl From<crate::domain::filter::FilterError> for ApiError {
    /// 422 naming the entity, attribute and operator at fault.
    fn from(e: crate::domain::filter::FilterError) -> Self {
        let mut err = Self::unprocessable(e.code, e.message);
        for (key, value) in [
            ("entity", e.entity),
            ("attribute", e.attribute),
            ("operator", e.operator),
        ] {
            if let Some(v) = value {
                err = err.with(key, v);
            }
        }
        err
    }
}

impl From<crate::providers::ProviderError> for ApiError {
    /// A server org that failed a call made for this request: 502 with the provider's code.
    fn from(e: crate::providers::ProviderError) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, e.code(), e.to_string())
    }
}

/// The code a bare framework error response gets.
fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "route_not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "request_timeout",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        431 => "headers_too_large",
        503 => "unavailable",
        s if s >= 500 => "internal_error",
        _ => "http_error",
    }
}

/// Outermost middleware: makes every error response a problem, in the format asked for.
pub async fn problem_middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error> {
    let xml = wants_xml(req.headers());
    let res = next.call(req).await?;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res.map_into_boxed_body().map_into_left_body());
    }
    let existing = res.response().extensions().get::<ProblemValue>().cloned();
    let value = match existing {
        Some(_) if !xml => return Ok(res.map_into_boxed_body().map_into_left_body()),
        Some(ProblemValue(v)) => v,
        None => {
            let code = code_for_status(status);
            let detail = match status {
                StatusCode::NOT_FOUND => "no such route".to_owned(),
                _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
            };
            serde_json::to_value(ApiError::new(status, code, detail).to_problem())
                .unwrap_or(Value::Null)
        }
    };
    let (req, old) = res.into_parts();
    let mut builder = HttpResponse::build(status);
    for (name, v) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            builder.append_header((name.clone(), v.clone()));
        }
    }
    let new = if xml {
        builder
            .content_type(PROBLEM_XML)
            .body(crate::api::xml::to_xml_ns(
                "problem",
                PROBLEM_XML_NS,
                &value,
            ))
    } else {
        builder.content_type(PROBLEM_JSON).body(value.to_string())
    };
    Ok(ServiceResponse::new(req, new).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_has_the_rfc_members_and_the_code() {
        let e = ApiError::unprocessable("invalid_attribute", "attribute 'name' is too long")
            .with("attribute", "name");
        let v = serde_json::to_value(e.to_problem()).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({
                "type": "urn:orgsync:problem:invalid_attribute",
                "title": "Unprocessable Entity",
                "status": 422,
                "detail": "attribute 'name' is too long",
                "code": "invalid_attribute",
                "attribute": "name"
            })
        );
    }

    #[test]
    fn unexpected_errors_hide_their_cause() {
        let e = ApiError::internal("password=hunter2 leaked in a driver message");
        let v = serde_json::to_value(e.to_problem()).unwrap_or_default();
        assert_eq!(v["status"], 500);
        assert_eq!(v["code"], "internal_error");
        assert!(!v.to_string().contains("hunter2"));
    }

    #[test]
    fn a_missing_row_is_404() {
        let e: ApiError = diesel::result::Error::NotFound.into();
        assert_eq!(e.status_code(), StatusCode::NOT_FOUND);
    }
}
