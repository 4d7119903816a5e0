//! The outermost middleware: every error response leaves as a problem, in the format asked
//! for, including the framework's own bare errors (404 route, 405, 413, …).

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::HttpResponse;
use serde_json::Value;

use super::body::wants_xml;
use crate::error::{ApiError, Code, ProblemValue, PROBLEM_JSON, PROBLEM_XML};

const PROBLEM_XML_NS: &str = "urn:ietf:rfc:7807";

/// The code a bare framework error response gets.
fn code_for_status(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::BadRequest,
        401 => Code::Unauthorized,
        403 => Code::Forbidden,
        404 => Code::RouteNotFound,
        405 => Code::MethodNotAllowed,
        406 => Code::NotAcceptable,
        408 => Code::RequestTimeout,
        411 => Code::LengthRequired,
        413 => Code::PayloadTooLarge,
        414 => Code::UriTooLong,
        415 => Code::UnsupportedMediaType,
        431 => Code::HeadersTooLarge,
        503 => Code::Unavailable,
        s if s >= 500 => Code::InternalError,
        _ => Code::HttpError,
    }
}

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
            let detail = match status {
                StatusCode::NOT_FOUND => "no such route".to_owned(),
                _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
            };
            let problem = ApiError::with_status(status, code_for_status(status), detail);
            serde_json::to_value(problem.to_problem()).unwrap_or(Value::Null)
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
            .body(super::xml::to_xml_ns("problem", PROBLEM_XML_NS, &value))
    } else {
        builder.content_type(PROBLEM_JSON).body(value.to_string())
    };
    Ok(ServiceResponse::new(req, new).map_into_right_body())
}
