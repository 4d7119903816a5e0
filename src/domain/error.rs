//! Why something was refused, in the words of the domain: a stable [`Code`] and a sentence,
//! with members naming what is at fault. Nothing here knows HTTP: the code's [`Kind`] says what
//! sort of refusal it is, and the HTTP edge (`crate::error`) turns a kind into a status, the
//! job edge into a job error.

use std::fmt;

use serde_json::{Map, Value};

/// What sort of refusal a code is; the HTTP edge maps each to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request itself is malformed (syntax, headers).
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,
    RequestTimeout,
    /// The state of what is stored does not allow it.
    Conflict,
    /// It existed once and is gone for good (an expired change token).
    Gone,
    LengthRequired,
    PreconditionFailed,
    TooLarge,
    UriTooLong,
    UnsupportedMediaType,
    /// Well-formed, but a value breaks a rule.
    Invalid,
    TooManyRequests,
    HeadersTooLarge,
    /// Something that should not happen.
    Internal,
    /// The backend behind a connection failed or refused.
    Backend,
    /// Busy or unreachable storage: worth another try.
    Unavailable,
}

macro_rules! codes {
    ($($kind:ident { $($(#[$doc:meta])* $variant:ident = $text:literal,)* })*) => {
        /// Every stable error code the service gives, in problems and in job errors.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($($(#[$doc])* $variant,)*)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$($(Code::$variant,)*)*];

            /// The snake_case name on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($(Code::$variant => $text,)*)* }
            }

            pub fn kind(self) -> Kind {
                match self { $($(Code::$variant => Kind::$kind,)*)* }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($($text => Some(Code::$variant),)*)* _ => None }
            }
        }
    };
}

codes! {
    BadRequest {
        BadRequest = "bad_request",
        MalformedBody = "malformed_body",
        /// A JSON object that names a key twice.
        DuplicateKey = "duplicate_key",
        MalformedXml = "malformed_xml",
        XmlDoctypeForbidden = "xml_doctype_forbidden",
        XmlEntityForbidden = "xml_entity_forbidden",
        XmlTooDeep = "xml_too_deep",
        InvalidQuery = "invalid_query",
        InvalidIfMatch = "invalid_if_match",
        InvalidIdempotencyKey = "invalid_idempotency_key",
    }
    Unauthorized {
        Unauthorized = "unauthorized",
        InvalidCredentials = "invalid_credentials",
    }
    Forbidden {
        Forbidden = "forbidden",
    }
    NotFound {
        NotFound = "not_found",
        RouteNotFound = "route_not_found",
        OrgNotFound = "org_not_found",
        EntityNotFound = "entity_not_found",
        RecordNotFound = "record_not_found",
        JobNotFound = "job_not_found",
        TransactionNotFound = "transaction_not_found",
        ConflictNotFound = "conflict_not_found",
        LinkNotFound = "link_not_found",
        NotConnected = "not_connected",
    }
    MethodNotAllowed {
        MethodNotAllowed = "method_not_allowed",
    }
    NotAcceptable {
        NotAcceptable = "not_acceptable",
    }
    RequestTimeout {
        RequestTimeout = "request_timeout",
    }
    Conflict {
        AlreadyExists = "already_exists",
        OrgExists = "org_exists",
        UserExists = "user_exists",
        RecordExists = "record_exists",
        AlreadyConnected = "already_connected",
        NotConnectedYet = "not_connected_yet",
        MetadataManagedByServer = "metadata_managed_by_server",
        JobNotRunnable = "job_not_runnable",
        JobFinished = "job_finished",
        /// `Approve` of a job the delete guard did not hold.
        JobNotHeld = "job_not_held",
        /// `UndoDeletes` of a job still queued or running.
        JobRunning = "job_running",
        TransactionSettled = "transaction_settled",
        TransactionInFlight = "transaction_in_flight",
        ConflictResolved = "conflict_resolved",
        /// The server changed the record after the version a client write was made on.
        Conflict = "conflict",
        /// A job stopped before deleting more than the connection's delete guard allows.
        DeleteGuard = "delete_guard",
        /// A job stopped at a batch boundary: cancelled, or its lease went to another worker.
        Cancelled = "cancelled",
    }
    Gone {
        TokenExpired = "token_expired",
    }
    LengthRequired {
        LengthRequired = "length_required",
    }
    PreconditionFailed {
        PreconditionFailed = "precondition_failed",
    }
    TooLarge {
        PayloadTooLarge = "payload_too_large",
        /// A record whose attributes are larger than the configured maximum.
        RecordTooLarge = "record_too_large",
    }
    UriTooLong {
        UriTooLong = "uri_too_long",
    }
    UnsupportedMediaType {
        UnsupportedMediaType = "unsupported_media_type",
    }
    Invalid {
        InvalidField = "invalid_field",
        InvalidBody = "invalid_body",
        InvalidName = "invalid_name",
        InvalidFilter = "invalid_filter",
        InvalidLimit = "invalid_limit",
        InvalidCursor = "invalid_cursor",
        InvalidUrl = "invalid_url",
        InvalidToken = "invalid_token",
        InvalidRole = "invalid_role",
        InvalidParams = "invalid_params",
        InvalidOperation = "invalid_operation",
        InvalidDefinition = "invalid_definition",
        UnknownAttribute = "unknown_attribute",
        InvalidAttributeValue = "invalid_attribute_value",
        MissingRequiredAttribute = "missing_required_attribute",
        AttributeTooLong = "attribute_too_long",
        InvalidOption = "invalid_option",
        WeakPassword = "weak_password",
        /// A change of where stored credentials go (Url, UserName) must give the password again.
        PasswordRequired = "password_required",
        TooManyOperations = "too_many_operations",
        IdempotencyKeyReused = "idempotency_key_reused",
        IdMismatch = "id_mismatch",
        EntityMismatch = "entity_mismatch",
        UnknownProvider = "unknown_provider",
        /// The sql provider needs consent (`InstallChangeCapture`) to create its change log
        /// and triggers in the database.
        ChangeCaptureNotInstalled = "change_capture_not_installed",
        ProviderNotAvailable = "provider_not_available",
        EntityNotOnServer = "entity_not_on_server",
        /// A snapshot filter that does not fit the entity (unknown attribute, wrong type, To
        /// before From).
        InvalidSnapshotFilter = "invalid_snapshot_filter",
        /// A snapshot names a link whose switch for its direction is off.
        LinkDirectionOff = "link_direction_off",
        /// A snapshot at system level finds no link with its direction's switch on.
        NothingToSnapshot = "nothing_to_snapshot",
    }
    TooManyRequests {
        TooManyRequests = "too_many_requests",
    }
    HeadersTooLarge {
        HeadersTooLarge = "headers_too_large",
    }
    Internal {
        InternalError = "internal_error",
        JobPanicked = "job_panicked",
        UnknownJobKind = "unknown_job_kind",
        CredentialsUnreadable = "credentials_unreadable",
        UploadLoop = "upload_loop",
        /// The process that ran a job's last try stopped before the try ended.
        WorkerLost = "worker_lost",
        /// A status the service does not name otherwise.
        HttpError = "http_error",
    }
    Backend {
        ServerAuthFailed = "server_auth_failed",
        ServerNotFound = "server_not_found",
        ServerRejected = "server_rejected",
        ServerUnavailable = "server_unavailable",
        /// The server answered with a redirect, which orgsync never follows with credentials.
        ServerRedirected = "server_redirected",
    }
    Unavailable {
        Unavailable = "unavailable",
        DatabaseUnavailable = "database_unavailable",
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule said no: the code, a sentence for people, and members naming what is at fault
/// (`field`, `entity`, `attribute`, `id`…).
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub code: Code,
    pub detail: String,
    pub members: Map<String, Value>,
    /// The kind when it is not the code's own (see [`Refusal::named_in_body`]).
    kind: Option<Kind>,
}

impl Refusal {
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            members: Map::new(),
            kind: None,
        }
    }

    /// What is missing was named in the body, not the path: the request is invalid (422), not
    /// the address (404).
    pub fn named_in_body(mut self) -> Self {
        self.kind = Some(Kind::Invalid);
        self
    }

    /// Adds a member naming what is at fault.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.members.insert(key.to_owned(), value.into());
        self
    }

    /// Names the request field at fault.
    pub fn field(self, name: &str) -> Self {
        self.with("field", name)
    }

    pub fn kind(&self) -> Kind {
        self.kind.unwrap_or(self.code.kind())
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for Refusal {}

/// The refusal of every caller that names an org that does not exist (or that it may not see).
pub fn org_not_found(org: &str) -> Refusal {
    Refusal::new(
        Code::OrgNotFound,
        format!("organization '{org}' does not exist"),
    )
    .with("org", org)
}

pub fn entity_not_found(entity: &str) -> Refusal {
    Refusal::new(
        Code::EntityNotFound,
        format!("entity '{entity}' is not defined in this org"),
    )
    .with("entity", entity)
}

pub fn record_not_found(entity: &str, id: &str) -> Refusal {
    Refusal::new(
        Code::RecordNotFound,
        format!("entity '{entity}' has no record '{id}'"),
    )
    .with("entity", entity)
    .with("id", id)
}

pub fn job_not_found(id: &str) -> Refusal {
    Refusal::new(Code::JobNotFound, format!("job '{id}' does not exist")).with("job", id)
}

pub fn transaction_not_found(id: &str) -> Refusal {
    Refusal::new(
        Code::TransactionNotFound,
        format!("transaction '{id}' does not exist"),
    )
    .with("id", id)
}

pub fn not_connected(org: &str) -> Refusal {
    Refusal::new(
        Code::NotConnected,
        format!("organization '{org}' has no connection; ConnectAsync makes one"),
    )
    .with("org", org)
}

pub fn link_not_found(entity: &str) -> Refusal {
    Refusal::new(
        Code::LinkNotFound,
        format!("entity '{entity}' is not synced by this connection"),
    )
    .with("entity", entity)
}

impl From<super::names::InvalidName> for Refusal {
    fn from(e: super::names::InvalidName) -> Self {
        Refusal::new(Code::InvalidName, e.to_string()).with("value", e.value)
    }
}

impl From<super::filter::FilterError> for Refusal {
    /// The entity, attribute and operator at fault, as members.
    fn from(e: super::filter::FilterError) -> Self {
        let mut refusal = Refusal::new(Code::InvalidFilter, e.message);
        for (key, value) in [
            ("entity", e.entity),
            ("attribute", e.attribute),
            ("operator", e.operator),
        ] {
            if let Some(v) = value {
                refusal = refusal.with(key, v);
            }
        }
        refusal
    }
}

/// A write that does not fit the metadata, naming the entity and the attribute.
pub fn invalid_record(entity: &str, e: super::record::InvalidRecord) -> Refusal {
    Refusal::new(e.code, e.message)
        .with("entity", entity)
        .with("attribute", e.attribute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_name() {
        for code in Code::ALL {
            assert_eq!(Code::parse(code.as_str()), Some(*code));
        }
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len(), "two codes share a name");
    }

    #[test]
    fn a_filter_error_names_what_is_at_fault() {
        let e = super::super::filter::SyncFilters::parse_xml(
            r#"<SyncFilters><Entity name="account"><filter><condition attribute="x" operator="zz" value="1"/></filter></Entity></SyncFilters>"#,
        )
        .unwrap_err();
        let r = Refusal::from(e);
        assert_eq!(r.code, Code::InvalidFilter);
        assert_eq!(r.members["operator"], "zz");
        assert_eq!(r.members["entity"], "account");
    }
}
