//! The one error of the HTTP edge. Every error the service answers, its own and the
//! framework's, leaves as an RFC 9457 problem with a stable snake_case `code`: a refusal of the
//! domain with the status its kind has, or an unexpected failure whose cause is logged once and
//! never sent. The problem middleware (`crate::api::problem`) renders it as XML when XML was
//! asked for.

use std::fmt;

use actix_web::body::BoxBody;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::Value;

use crate::db::DbError;
pub use crate::domain::error::Code;
use crate::domain::error::Refusal;
use crate::providers::ProviderError;
use crate::sync::EngineError;
use crate::wire::problem::status_of;
pub use crate::wire::problem::Problem;

pub const PROBLEM_JSON: &str = "application/problem+json";
pub const PROBLEM_XML: &str = "application/problem+xml";

/// An error on its way to the caller (boxed: errors are rare, results are everywhere).
#[derive(Clone)]
pub struct ApiError(Box<Inner>);

#[derive(Clone)]
struct Inner {
    status: StatusCode,
    refusal: Refusal,
    headers: Vec<(header::HeaderName, String)>,
    /// The underlying cause of an unexpected error, logged once, never sent.
    cause: Option<String>,
}

impl ApiError {
    /// A refusal with the status its code's kind has.
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self::from(Refusal::new(code, detail))
    }

    /// A refusal under a status of its own (a framework error keeps the one it had).
    pub fn with_status(status: StatusCode, code: Code, detail: impl Into<String>) -> Self {
        let mut e = Self::new(code, detail);
        e.0.status = status;
        e
    }

    /// Adds a member naming what is at fault (`attribute`, `entity`, …).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.refusal = self.0.refusal.with(key, value);
        self
    }

    /// Names the request field at fault.
    pub fn field(self, name: &str) -> Self {
        self.with("field", name)
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> Self {
        self.0.headers.push((name, value.into()));
        self
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, detail).with_header(header::WWW_AUTHENTICATE, "Bearer")
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, detail)
    }

    /// Something that should not happen: the cause is logged, the caller gets a plain 500.
    pub fn internal(cause: impl fmt::Display) -> Self {
        let mut e = Self::new(
            Code::InternalError,
            "the service failed to handle the request; it has been logged",
        );
        e.0.cause = Some(cause.to_string());
        e
    }

    fn caused(mut self, cause: impl Into<String>) -> Self {
        self.0.cause = Some(cause.into());
        self
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }
    pub fn code(&self) -> Code {
        self.0.refusal.code
    }
    pub fn detail(&self) -> &str {
        &self.0.refusal.detail
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.0.status;
        Problem::new(
            status.as_u16(),
            status.canonical_reason().unwrap_or("Error"),
            &self.0.refusal,
        )
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.0.status.as_u16())
            .field("code", &self.0.refusal.code)
            .field("detail", &self.0.refusal.detail)
            .field("cause", &self.0.cause)
            .finish()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.0.refusal.code,
            self.0.status.as_u16(),
            self.0.refusal.detail
        )
    }
}

impl std::error::Error for ApiError {}

/// The rendered problem travels with the response so the middleware can re-render it as XML.
#[derive(Clone)]
pub struct ProblemValue(pub Value);

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        if self.0.status.is_server_error() {
            tracing::error!(code = %self.0.refusal.code, cause = self.0.cause.as_deref().unwrap_or(""), "{}", self.0.refusal.detail);
        }
        let value = serde_json::to_value(self.to_problem()).unwrap_or(Value::Null);
        let mut res = HttpResponse::build(self.0.status);
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        for (name, v) in &self.0.headers {
            if let Ok(v) = HeaderValue::from_str(v) {
                res.insert_header((name.clone(), v));
            }
        }
        let mut res = res.body(value.to_string());
        res.extensions_mut().insert(ProblemValue(value));
        res
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let (status, _) = status_of(refusal.kind());
        Self(Box::new(Inner {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            refusal,
            headers: Vec::new(),
            cause: None,
        }))
    }
}

impl From<DbError> for ApiError {
    /// Missing rows are 404, unique violations 409, a busy or unreachable database 503, a
    /// refusal its own status; anything else a 500 whose cause chain is logged.
    fn from(e: DbError) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            DbError::Refused(r) => r.into(),
            DbError::Query(Error::NotFound) => {
                Self::new(Code::NotFound, "the resource does not exist")
            }
            DbError::Query(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
                Self::new(Code::AlreadyExists, "the resource already exists").caused(info.message())
            }
            e if e.is_transient() => Self::new(
                Code::DatabaseUnavailable,
                "the database did not answer in time",
            )
            .caused(e.chain()),
            other => Self::internal(other.chain()),
        }
    }
}

impl From<ProviderError> for ApiError {
    /// A server org that failed a call made for this request: 502 with the provider's code.
    fn from(e: ProviderError) -> Self {
        Self::with_status(StatusCode::BAD_GATEWAY, e.code(), e.to_string())
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Db(e) => e.into(),
            EngineError::Provider(e) => e.into(),
            EngineError::Refused(r) => r.into(),
            EngineError::Stopped => Self::new(Code::Cancelled, e.to_string()),
        }
    }
}

impl From<crate::domain::names::InvalidName> for ApiError {
    fn from(e: crate::domain::names::InvalidName) -> Self {
        Refusal::from(e).into()
    }
}

impl From<crate::domain::filter::FilterError> for ApiError {
    /// 422 naming the entity, attribute and operator at fault.
    fn from(e: crate::domain::filter::FilterError) -> Self {
        Refusal::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_has_the_rfc_members_and_the_code() {
        let e = ApiError::new(Code::UnknownAttribute, "attribute 'name' is too long")
            .with("attribute", "name");
        let v = serde_json::to_value(e.to_problem()).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({
                "type": "urn:orgsync:problem:unknown_attribute",
                "title": "Unprocessable Entity",
                "status": 422,
                "detail": "attribute 'name' is too long",
                "code": "unknown_attribute",
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
    fn storage_errors_map_to_statuses() {
        let e: ApiError = DbError::Query(diesel::result::Error::NotFound).into();
        assert_eq!(e.status_code(), StatusCode::NOT_FOUND);
        let e: ApiError = DbError::Pool("timed out".to_owned()).into();
        assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let e: ApiError = DbError::Refused(crate::domain::error::org_not_found("ghost")).into();
        assert_eq!(
            (e.status_code(), e.code()),
            (StatusCode::NOT_FOUND, Code::OrgNotFound)
        );
    }

    #[test]
    fn every_code_has_a_status() {
        for code in Code::ALL {
            let e = ApiError::new(*code, "x");
            assert!(
                e.status().is_client_error() || e.status().is_server_error(),
                "{code}"
            );
        }
    }
}
