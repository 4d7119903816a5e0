//! The error responses operations share, written once: each set lists the problems an
//! operation of that shape can answer, with a description and an example problem per status.
//! An operation names its set in `responses(...)` and adds only the errors of its own (a 409
//! with what conflicts, a 410, a 412).

use std::collections::BTreeMap;

use serde_json::json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{Ref, RefOr};

use crate::error::PROBLEM_JSON;

/// What a problem of `status` means, with an example of one.
fn problem(status: u16) -> RefOr<Response> {
    let (description, code, detail) = match status {
        400 => ("The request is malformed: JSON or XML that does not parse, a query or header that does not read", "malformed_body", "the JSON body is malformed: expected value at line 1 column 1"),
        401 => ("No valid bearer token: missing, expired, or signed with another key", "unauthorized", "this needs an 'Authorization: Bearer <token>' header"),
        403 => ("The token's role may not do this", "forbidden", "this needs the role provider or org_admin; the token has org_user"),
        404 => ("The org or what the path names does not exist, or the token may not see it", "org_not_found", "organization 'contoso' does not exist"),
        413 => ("The body is larger than the configured limit", "payload_too_large", "the request body is larger than 16777216 bytes"),
        415 => ("The body is neither JSON nor XML (Content-Type)", "unsupported_media_type", "Content-Type 'text/plain' is not accepted; send application/json or application/xml"),
        422 => ("The body or a value breaks a rule; `field`, `entity`, `attribute` or `operator` names it", "invalid_field", "UserName must be 1 to 256 characters"),
        502 => ("The server org behind the connection could not be reached or refused", "server_unavailable", "the server is unavailable: cannot connect"),
        _ => ("The database did not answer in time", "database_unavailable", "the database did not answer in time"),
    };
    let reason = crate::wire::problem::status_of(kind_of(status)).1;
    let example = json!({
        "type": format!("urn:orgsync:problem:{code}"), "title": reason, "status": status,
        "detail": detail, "code": code,
    });
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(Some(example))
                .build(),
        )
        .build()
        .into()
}

fn kind_of(status: u16) -> crate::domain::error::Kind {
    use crate::domain::error::Kind;
    match status {
        400 => Kind::BadRequest,
        401 => Kind::Unauthorized,
        403 => Kind::Forbidden,
        404 => Kind::NotFound,
        413 => Kind::TooLarge,
        415 => Kind::UnsupportedMediaType,
        422 => Kind::Invalid,
        502 => Kind::Backend,
        _ => Kind::Unavailable,
    }
}

macro_rules! error_set {
    ($($(#[$doc:meta])* $name:ident: [$($status:literal),*];)*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$($status),*].into_iter().map(|s: u16| (s.to_string(), problem(s))).collect()
            }
        }
    )*};
}

error_set! {
    /// A read by anyone who may see the org.
    Read: [401, 404];
    /// A list with query parameters that is not the list of one org.
    ListQuery: [400, 401, 422];
    /// A read with query parameters (paging, filters).
    ReadQuery: [400, 401, 404, 422];
    /// A read by an admin of the org.
    AdminRead: [401, 403, 404];
    /// A read by an admin, with query parameters.
    AdminReadQuery: [400, 401, 403, 404, 422];
    /// A write with a body, by anyone who may see the org.
    Write: [400, 401, 404, 413, 415, 422];
    /// A write with a body, by an admin of the org (or the provider).
    AdminWrite: [400, 401, 403, 404, 413, 415, 422];
    /// An action without a body, by an admin of the org (or the provider).
    AdminAction: [401, 403, 404];
    /// An action of the provider alone, with a body.
    ProviderWrite: [400, 401, 403, 413, 415, 422];
    /// An action of the provider alone, without a body.
    ProviderAction: [401, 403];
    /// A token of any role.
    Token: [401];
}
