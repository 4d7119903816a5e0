//! A connection's settings, checked once where they come in: a `ConnectRequest` becomes a
//! [`ConnectSetup`] and a `ConnectionPatch` a [`ConnectionChange`], with typed entities,
//! filters, modes and interval. Nothing past this point sees the request's strings.

use std::time::Duration;

use serde_json::{json, Value};

use crate::config::parse_duration;
use crate::domain::error::{Code, Refusal};
use crate::domain::filter::SyncFilters;
use crate::domain::names::LogicalName;
use crate::domain::provider::{self, ProviderInfo, PROVIDERS};
use crate::domain::safety::{DeleteGuard, MatchOn};
use crate::domain::setup::{ConflictPolicy, FilterSource, SyncMode};
use crate::providers::check_url;
use crate::wire::orgs::RegistrationInfo;
use crate::wire::sync::{ConnectionPatch, SyncSetup};

/// Shortest accepted `SyncInterval`.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// The settings of a new connection, every one checked.
#[derive(Debug, Clone)]
pub struct ConnectSetup {
    pub provider: &'static ProviderInfo,
    pub url: String,
    pub user_name: String,
    pub password: String,
    pub registration: RegistrationInfo,
    /// `None`: every entity of the server.
    pub entities: Option<Vec<LogicalName>>,
    /// Grammar checked; typed by the server's metadata when the Connect job runs.
    pub filters: Option<FilterSource>,
    pub write_offline: bool,
    pub mode: SyncMode,
    pub policy: ConflictPolicy,
    pub interval_secs: Option<i64>,
    /// Checked against the server's metadata when the Connect job runs.
    pub match_on: Option<MatchOn>,
    /// `None`: the default guard.
    pub delete_guard: Option<DeleteGuard>,
    /// The admin consented to change capture in the external database (sql provider).
    pub change_capture: bool,
}

impl ConnectSetup {
    pub fn parse(setup: SyncSetup) -> Result<Self, Refusal> {
        let provider = check_provider(&setup.provider_id)?;
        check_url(provider, &setup.url).map_err(|m| invalid(Code::InvalidUrl, "Url", m))?;
        check_user_name(&setup.user_name)?;
        check_password(&setup.password)?;
        let entities = setup.entities.map(check_entities).transpose()?;
        let filters = filter_source(setup.sync_filters_xml, setup.sync_filters)?;
        if let Some(source) = &filters {
            check_selected(source, entities.as_deref())?;
        }
        let change_capture = setup.install_change_capture.unwrap_or(false);
        if change_capture && provider.provider_id != provider::SQL_PROVIDER_ID {
            return Err(invalid(
                Code::InvalidField,
                "InstallChangeCapture",
                format!(
                    "InstallChangeCapture applies to the sql provider only, not to '{}'",
                    provider.name
                ),
            ));
        }
        let match_on = setup.match_on.filter(|m| !m.is_empty());
        if let (Some(m), Some(selected)) = (&match_on, &entities) {
            if let Some((stray, _)) = m.entries().find(|(e, _)| !selected.contains(e)) {
                return Err(invalid(
                    Code::InvalidField,
                    "MatchOn",
                    format!("MatchOn names entity '{stray}', which Entities does not select"),
                )
                .with("entity", stray.as_str()));
            }
        }
        Ok(Self {
            provider,
            url: setup.url.trim().to_owned(),
            user_name: setup.user_name,
            password: setup.password,
            registration: setup.registration_info.unwrap_or_default(),
            entities,
            filters,
            write_offline: setup.write_offline.unwrap_or(false),
            mode: setup.sync_mode.unwrap_or_default(),
            policy: setup.conflict_policy.unwrap_or_default(),
            interval_secs: check_interval(setup.sync_interval.as_deref())?,
            match_on,
            delete_guard: setup.delete_guard,
            change_capture,
        })
    }
}

/// What a `PATCH …/connection` changes, every given value checked. Filters are checked
/// against the entity selection they end up with by the workflow that applies them.
#[derive(Debug, Clone, Default)]
pub struct ConnectionChange {
    pub url: Option<String>,
    pub user_name: Option<String>,
    pub password: Option<String>,
    /// `Some(None)`: every entity of the server.
    pub entities: Option<Option<Vec<LogicalName>>>,
    /// `Some(None)`: no filters.
    pub filters: Option<Option<FilterSource>>,
    pub write_offline: Option<bool>,
    pub mode: Option<SyncMode>,
    pub policy: Option<ConflictPolicy>,
    /// `Some(None)`: no periodic sync.
    pub interval_secs: Option<Option<i64>>,
    /// `Some(None)`: no MatchOn. Checked against the client's metadata by the workflow.
    pub match_on: Option<Option<MatchOn>>,
    /// `Some(None)`: the default guard.
    pub delete_guard: Option<Option<DeleteGuard>>,
}

impl ConnectionChange {
    pub fn parse(patch: ConnectionPatch) -> Result<Self, Refusal> {
        // The stored password only ever goes where it was given for: whoever points the
        // connection elsewhere, or at another user, gives it again.
        if (patch.url.is_some() || patch.user_name.is_some()) && patch.password.is_none() {
            let what = if patch.url.is_some() {
                "Url"
            } else {
                "UserName"
            };
            return Err(invalid(
                Code::PasswordRequired,
                "Password",
                format!("changing {what} needs the Password again in the same request"),
            ));
        }
        if let Some(url) = &patch.url {
            // Read by the connection's provider when the change is applied; here it must at
            // least be a Url some provider reads.
            if crate::providers::sql::url::parse_url(url).is_err() {
                crate::providers::orgsync::parse_url(url)
                    .map_err(|m| invalid(Code::InvalidUrl, "Url", m))?;
            }
        }
        if let Some(p) = &patch.password {
            check_password(p)?;
        }
        if let Some(u) = &patch.user_name {
            check_user_name(u)?;
        }
        let entities = patch
            .entities
            .map(|e| e.map(check_entities).transpose())
            .transpose()?;
        let filters = if patch.sync_filters_xml.is_some() || patch.sync_filters.is_some() {
            Some(filter_source(
                patch.sync_filters_xml.flatten(),
                patch.sync_filters.flatten(),
            )?)
        } else {
            None
        };
        let interval_secs = patch
            .sync_interval
            .map(|i| check_interval(i.as_deref()))
            .transpose()?;
        Ok(Self {
            url: patch.url.map(|u| u.trim().to_owned()),
            user_name: patch.user_name,
            password: patch.password,
            entities,
            filters,
            write_offline: patch.write_offline,
            mode: patch.sync_mode,
            policy: patch.conflict_policy,
            interval_secs,
            match_on: patch.match_on.map(|m| m.filter(|m| !m.is_empty())),
            delete_guard: patch.delete_guard,
        })
    }
}

fn invalid(code: Code, field: &str, detail: impl Into<String>) -> Refusal {
    Refusal::new(code, detail).field(field)
}

fn check_provider(id: &str) -> Result<&'static ProviderInfo, Refusal> {
    let known = || -> Value {
        PROVIDERS
            .iter()
            .map(|p| json!({"ProviderID": p.provider_id, "Name": p.name}))
            .collect()
    };
    match provider::find(id) {
        Some(p) if p.available => Ok(p),
        Some(p) => Err(invalid(
            Code::ProviderNotAvailable,
            "ProviderID",
            format!("the '{}' provider is not available in this version", p.name),
        )
        .with("providers", known())),
        None => Err(invalid(
            Code::UnknownProvider,
            "ProviderID",
            format!("unknown provider '{id}'; GET /rest/v1/providers lists the known ones"),
        )
        .with("providers", known())),
    }
}

fn check_user_name(user_name: &str) -> Result<(), Refusal> {
    if user_name.trim().is_empty() || user_name.chars().count() > 256 {
        return Err(invalid(
            Code::InvalidField,
            "UserName",
            "UserName must be 1 to 256 characters",
        ));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<(), Refusal> {
    if password.is_empty() || password.chars().count() > 1024 {
        return Err(invalid(
            Code::InvalidField,
            "Password",
            "Password must be 1 to 1024 characters",
        ));
    }
    Ok(())
}

/// The named entities, checked and without repeats, in the order given.
fn check_entities(list: Vec<String>) -> Result<Vec<LogicalName>, Refusal> {
    let mut names: Vec<LogicalName> = Vec::new();
    for e in list {
        let name = LogicalName::parse(e.trim())
            .map_err(|err| invalid(Code::InvalidName, "Entities", err.to_string()))?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Err(invalid(
            Code::InvalidField,
            "Entities",
            "Entities lists no entity; leave it out to sync all",
        ));
    }
    Ok(names)
}

/// The filters in the form given, their grammar checked (their types need the server's
/// metadata, which the Connect job checks).
fn filter_source(
    xml: Option<String>,
    json: Option<Value>,
) -> Result<Option<FilterSource>, Refusal> {
    let source = match (xml, json) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                Code::InvalidFilter,
                "SyncFilters",
                "give SyncFiltersXml or SyncFilters, not both",
            ))
        }
        (Some(x), None) => FilterSource::Xml(x),
        (None, Some(j)) => FilterSource::Json(j),
        (None, None) => return Ok(None),
    };
    source.parse()?;
    Ok(Some(source))
}

/// The filters name only entities the connection selects.
pub fn check_selected(
    source: &FilterSource,
    entities: Option<&[LogicalName]>,
) -> Result<SyncFilters, Refusal> {
    let parsed = source.parse()?;
    if let Some(selected) = entities {
        if let Some(stray) = parsed
            .entities
            .keys()
            .find(|e| !selected.iter().any(|s| s.as_str() == e.as_str()))
        {
            return Err(invalid(
                Code::InvalidFilter,
                "SyncFilters",
                format!("the filters name entity '{stray}', which Entities does not select"),
            )
            .with("entity", stray.as_str()));
        }
    }
    Ok(parsed)
}

/// A duration (ISO 8601, `1h`, or seconds) of at least [`MIN_INTERVAL`], in seconds.
fn check_interval(text: Option<&str>) -> Result<Option<i64>, Refusal> {
    let Some(text) = text else { return Ok(None) };
    // The forms the environment's durations take: ISO 8601, `1h`/`90m`, or seconds.
    let d = parse_duration(text).map_err(|_| {
        invalid(
            Code::InvalidField,
            "SyncInterval",
            format!(
                "SyncInterval '{text}' is not a duration: an ISO 8601 one such as PT1H, or 1h, \
                 90m, 3600"
            ),
        )
    })?;
    if d < MIN_INTERVAL {
        return Err(invalid(
            Code::InvalidField,
            "SyncInterval",
            format!(
                "SyncInterval must be at least {} seconds",
                MIN_INTERVAL.as_secs()
            ),
        ));
    }
    Ok(Some(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(extra: Value) -> Result<ConnectSetup, Refusal> {
        let mut body = json!({"ProviderID": "orgsync", "Url": "http://127.0.0.1:1/rest/v1/orgs/contoso",
                              "UserName": "u", "Password": "p"});
        for (k, v) in extra.as_object().into_iter().flatten() {
            body[k] = v.clone();
        }
        ConnectSetup::parse(serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn a_setup_is_typed_once() {
        let s = setup(
            json!({"Entities": ["account", " account ", "contact"], "SyncMode": "Additive",
                             "SyncInterval": "PT1H"}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = s
            .entities
            .iter()
            .flatten()
            .map(LogicalName::as_str)
            .collect();
        assert_eq!(names, ["account", "contact"]);
        assert_eq!(s.mode, SyncMode::Additive);
        assert_eq!(s.policy, ConflictPolicy::ServerWins);
        assert_eq!(s.interval_secs, Some(3600));
        for (text, secs) in [("1h", 3600), ("90m", 5400), ("120", 120), ("P1D", 86_400)] {
            let s = setup(json!({"SyncInterval": text})).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.interval_secs, Some(secs), "{text}");
        }
    }

    #[test]
    fn each_refusal_names_its_field() {
        let field = |extra: Value| setup(extra).map(|_| ()).unwrap_err().members["field"].clone();
        assert_eq!(field(json!({"ProviderID": "nope"})), "ProviderID");
        assert_eq!(field(json!({"Url": "ftp://x"})), "Url");
        assert_eq!(field(json!({"Entities": []})), "Entities");
        assert_eq!(field(json!({"SyncInterval": "PT5S"})), "SyncInterval");
        let stray = setup(json!({"Entities": ["account"],
            "SyncFilters": {"contact": {"Conditions": [{"Attribute": "x", "Operator": "null"}]}}}))
        .map(|_| ())
        .unwrap_err();
        assert_eq!(stray.members["entity"], "contact");
    }
}
