//! The problem body (RFC 9457) every error leaves as.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::domain::error::{Kind, Refusal};

/// The problem body (RFC 9457) as it is sent; `code` is stable and meant for programs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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

/// The HTTP status and reason phrase of each kind of refusal: an operation's `Status` in a
/// batch result, and a problem's `status` and `title`.
pub fn status_of(kind: Kind) -> (u16, &'static str) {
    match kind {
        Kind::BadRequest => (400, "Bad Request"),
        Kind::Unauthorized => (401, "Unauthorized"),
        Kind::Forbidden => (403, "Forbidden"),
        Kind::NotFound => (404, "Not Found"),
        Kind::MethodNotAllowed => (405, "Method Not Allowed"),
        Kind::NotAcceptable => (406, "Not Acceptable"),
        Kind::RequestTimeout => (408, "Request Timeout"),
        Kind::Conflict => (409, "Conflict"),
        Kind::Gone => (410, "Gone"),
        Kind::LengthRequired => (411, "Length Required"),
        Kind::PreconditionFailed => (412, "Precondition Failed"),
        Kind::TooLarge => (413, "Payload Too Large"),
        Kind::UriTooLong => (414, "URI Too Long"),
        Kind::UnsupportedMediaType => (415, "Unsupported Media Type"),
        Kind::Invalid => (422, "Unprocessable Entity"),
        Kind::TooManyRequests => (429, "Too Many Requests"),
        Kind::HeadersTooLarge => (431, "Request Header Fields Too Large"),
        Kind::Internal => (500, "Internal Server Error"),
        Kind::Backend => (502, "Bad Gateway"),
        Kind::Unavailable => (503, "Service Unavailable"),
    }
}

impl Problem {
    /// The problem of a refusal, with the status its kind has.
    pub fn of(refusal: &Refusal) -> Self {
        let (status, title) = status_of(refusal.kind());
        Self::new(status, title, refusal)
    }

    /// The problem of a refusal under a given status (a framework error keeps its own).
    pub fn new(status: u16, title: &str, refusal: &Refusal) -> Self {
        Self {
            kind: format!("urn:orgsync:problem:{}", refusal.code),
            title: title.to_owned(),
            status,
            detail: refusal.detail.clone(),
            code: refusal.code.as_str().to_owned(),
            extensions: refusal.members.clone(),
        }
    }
}
