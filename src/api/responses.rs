//! The error responses operations share, written once: each set lists the problems an
//! operation of that shape can answer, with a description and an example problem per status.
//! An operation names its set in `responses(...)` and adds only the errors of its own (a 409
//! with what conflicts, a 410, a 412).

use std::collections::BTreeMap;

use serde_json::json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::{OpenApi, Ref, RefOr};

use crate::domain::error::Code;

use crate::error::PROBLEM_JSON;

/// What a problem of `status` means, with an example of one.
fn problem(status: u16) -> RefOr<Response> {
    let (description, code, detail) = generic(status);
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(Some(example(code, detail)))
                .build(),
        )
        .build()
        .into()
}

/// The meaning, code and a detail of the problems an operation of any shape can answer with
/// `status`.
fn generic(status: u16) -> (&'static str, Code, &'static str) {
    match status {
        400 => ("The request is malformed: JSON or XML that does not parse, a query or header that does not read", Code::MalformedBody, "the JSON body is malformed: expected value at line 1 column 1"),
        401 => ("No valid bearer token: missing, expired, or signed with another key", Code::Unauthorized, "this needs an 'Authorization: Bearer <token>' header"),
        403 => ("The token's role may not do this", Code::Forbidden, "this needs the role provider or org_admin; the token has org_user"),
        404 => ("The org or what the path names does not exist, or the token may not see it", Code::OrgNotFound, "organization 'contoso' does not exist"),
        413 => ("The body is larger than the configured limit", Code::PayloadTooLarge, "the request body is larger than 16777216 bytes"),
        415 => ("The body is neither JSON nor XML (Content-Type)", Code::UnsupportedMediaType, "Content-Type 'text/plain' is not accepted; send application/json or application/xml"),
        422 => ("The body or a value breaks a rule; `field`, `entity`, `attribute` or `operator` names it", Code::InvalidField, "UserName must be 1 to 256 characters"),
        502 => ("The server org behind the connection could not be reached or refused", Code::ServerUnavailable, "the server is unavailable: cannot connect"),
        _ => ("The database did not answer in time", Code::DatabaseUnavailable, "the database did not answer in time"),
    }
}

/// A problem of `code` as the service gives it: its status is the code's.
fn example(code: Code, detail: &str) -> serde_json::Value {
    let (status, title) = crate::wire::problem::status_of(code.kind());
    json!({
        "type": format!("urn:orgsync:problem:{code}"), "title": title, "status": status,
        "detail": detail, "code": code.as_str(),
    })
}

/// The problems particular to one operation, by its id and status, in that operation's words.
const PARTICULAR: &[(&str, u16, Code, &str)] = &[
    ("token", 401, Code::InvalidCredentials, "unknown org or user, or wrong password"),
    ("delete_connection", 502, Code::ServerUnavailable, "the server is unavailable: the database at db.example:5432 cannot be reached"),
    ("token", 429, Code::TooManyRequests, "too many sign-in attempts; try again in 60 seconds"),
    ("create_org", 409, Code::OrgExists, "organization 'contoso' already exists"),
    ("create_user", 409, Code::UserExists, "user 'sync@contoso.example' already exists in this org"),
    ("put_entity", 409, Code::MetadataManagedByServer, "'fabrikam' is a connected client org: its metadata comes from the server (UpdateMetadataAsync)"),
    ("delete_entity", 409, Code::MetadataManagedByServer, "'fabrikam' is a connected client org: its metadata comes from the server (UpdateMetadataAsync)"),
    ("create_record", 409, Code::RecordExists, "a record 'a-17' of entity 'account' already exists"),
    ("replace_record", 412, Code::PreconditionFailed, "record 'a-17' is at version 43, not 42"),
    ("update_record", 412, Code::PreconditionFailed, "record 'a-17' is at version 43, not 42"),
    ("delete_record", 412, Code::PreconditionFailed, "record 'a-17' is at version 43, not 42"),
    ("delete_record", 400, Code::InvalidIfMatch, "If-Match must be * or one entity tag"),
    ("read_changes", 410, Code::TokenExpired, "token 1200 predates the tombstone horizon 1500; read again without Since"),
    ("connect_async", 409, Code::AlreadyConnected, "organization 'fabrikam' is connected through provider sql; DELETE its connection to connect it through another"),
    ("sync_async", 409, Code::NotConnectedYet, "the connection of 'fabrikam' is Connecting; wait for its Connect job"),
    ("update_metadata_async", 409, Code::NotConnectedYet, "the connection of 'fabrikam' is Connecting; wait for its Connect job"),
    ("compare_async", 409, Code::NotConnectedYet, "the connection of 'fabrikam' is Connecting; wait for its Connect job"),
    ("start_snapshot", 409, Code::NotConnectedYet, "the connection of 'fabrikam' is Connecting; wait for its Connect job"),
    ("run_job", 409, Code::JobNotRunnable, "job '7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c' is Running; only a queued, failed or cancelled job can be run"),
    ("cancel_job", 409, Code::JobFinished, "job '7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c' is already Completed"),
    ("approve_job", 409, Code::JobNotHeld, "job '7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c' is Completed; only a held job can be approved"),
    ("undo_deletes", 409, Code::JobRunning, "job '7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c' is Running; its deletes can be undone once it has stopped"),
    ("set_to_pending", 409, Code::TransactionSettled, "transaction '0b6e1c3a-58d2-4f0e-b7a4-2c9d8e1f6a35' is Processed; it cannot become Pending"),
    ("set_to_archived", 409, Code::TransactionInFlight, "transaction '0b6e1c3a-58d2-4f0e-b7a4-2c9d8e1f6a35' was sent and its answer is not known yet; it cannot be archived"),
    ("resolve_conflict", 409, Code::ConflictResolved, "conflict '0b6e1c3a-58d2-4f0e-b7a4-2c9d8e1f6a35' is already resolved"),
    ("metrics", 403, Code::Forbidden, "this needs the role provider; the token has org_admin"),
];

/// Gives each problem response without an example one: the operation's own problem of that
/// status when [`PARTICULAR`] names one, else the problem any operation gives with it.
pub fn fill_examples(doc: &mut OpenApi) {
    for op in super::operations_mut(doc) {
        let id = op.operation_id.clone().unwrap_or_default();
        for (status, response) in &mut op.responses.responses {
            let (RefOr::T(response), Ok(status)) = (response, status.parse::<u16>()) else {
                continue;
            };
            let Some(content) = response.content.get_mut(PROBLEM_JSON) else {
                continue;
            };
            if status < 400 || content.example.is_some() {
                continue;
            }
            let (code, detail) = PARTICULAR
                .iter()
                .find(|(op, s, _, _)| *op == id && *s == status)
                .map_or_else(
                    || {
                        let (_, code, detail) = generic(status);
                        (code, detail)
                    },
                    |(_, _, code, detail)| (*code, *detail),
                );
            content.example = Some(example(code, detail));
        }
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
    /// A write with a body, by an admin of the org, that asks the connection's backend.
    AdminWriteBackend: [400, 401, 403, 404, 413, 415, 422, 502];
    /// An action without a body but with query parameters, that may reach the backend.
    AdminActionQueryBackend: [400, 401, 403, 404, 502];
    /// An action of the provider alone, with a body.
    ProviderWrite: [400, 401, 403, 413, 415, 422];
    /// An action of the provider alone, without a body.
    ProviderAction: [401, 403];
    /// A token of any role.
    Token: [401];
}

#[cfg(test)]
mod tests {
    use super::PARTICULAR;
    use crate::domain::error::Code;

    /// Every problem response of the contract shows an example of a problem it can be: one
    /// whose code is a real one with the response's status, not one sample for all.
    #[test]
    fn every_problem_response_shows_a_problem_of_its_status() {
        let doc = serde_json::to_value(crate::api::openapi()).unwrap();
        let mut seen = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().unwrap_or_default();
                for (status, response) in op["responses"].as_object().unwrap() {
                    if status.as_str() < "400" {
                        continue;
                    }
                    let example = &response["content"]["application/problem+json"]["example"];
                    let code = example["code"].as_str().and_then(Code::parse);
                    assert!(code.is_some(), "{path} {status}: {example}");
                    assert_eq!(example["status"].to_string(), *status, "{path}: {example}");
                    seen.push((id.to_owned(), status.parse::<u16>().unwrap()));
                }
            }
        }
        for (op, status, _, _) in PARTICULAR {
            assert!(
                seen.contains(&((*op).to_owned(), *status)),
                "{op} documents no {status}"
            );
        }
        let distinct: std::collections::BTreeSet<_> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .flat_map(|op| {
                op["responses"]["409"]["content"]["application/problem+json"]["example"]["code"]
                    .as_str()
            })
            .collect();
        assert!(
            distinct.len() >= 8,
            "409s tell their conflicts apart: {distinct:?}"
        );
    }
}
