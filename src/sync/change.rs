//! Changing a stored connection: the settings of a `PATCH …/connection`, or all of them at
//! once when `ConnectAsync` is called again on a connected org.

use serde_json::json;

use super::scope::retype_links;
use super::setup::{check_selected, ConnectionChange};
use super::EngineError;
use crate::db::connections::{self, ConnectionRow};
use crate::db::jobs::{self as queue, JobRow};
use crate::db::{metadata, DbConn, Json};
use crate::domain::error::{Code, Refusal};
use crate::domain::jobs::JobKind;
use crate::domain::names::OrgName;
use crate::domain::setup::ConnectionState;

/// A ConnectAsync on an org that has a connection: the request's settings replace the stored
/// ones (as Resco's ConnectRequest updates a registered device), and a job carries the change
/// on: the client's metadata is brought up to date once connected (UpdateMetadata), or the
/// Connect job runs again with the new settings while it has not succeeded. The same request
/// twice changes nothing the second time and gives back the job still waiting.
pub(super) fn reconnect(
    conn: &mut DbConn,
    org: &OrgName,
    org_id: i64,
    mut existing: ConnectionRow,
    given: ConnectionRow,
    added_by: &str,
    max_tries: i32,
) -> Result<JobRow, EngineError> {
    if existing.provider != given.provider {
        return Err(Refusal::new(
            Code::AlreadyConnected,
            format!(
                "organization '{org}' is connected through provider {}; DELETE its connection \
                 to connect it through another",
                existing.provider
            ),
        )
        .into());
    }
    let connected = existing.state == ConnectionState::Connected;
    let change = ConnectionChange {
        url: Some(given.url),
        user_name: Some(given.user_name),
        password: None,
        entities: Some(given.entities.map(Json::into_inner)),
        filters: connected.then(|| given.sync_filters.clone().map(Json::into_inner)),
        write_offline: Some(given.write_offline),
        mode: Some(given.sync_mode),
        policy: Some(given.conflict_policy),
        interval_secs: Some(given.sync_interval_secs),
        // Filters and MatchOn are typed by the client's metadata once it has some, and by the
        // Connect job before.
        match_on: connected.then(|| given.match_on.clone().map(Json::into_inner)),
        delete_guard: Some(given.delete_guard.map(Json::into_inner)),
    };
    apply(
        conn,
        org_id,
        &mut existing,
        change,
        Some(given.password_enc),
    )?;
    existing.change_capture = given.change_capture;
    if !connected {
        existing.sync_filters = given.sync_filters;
        existing.match_on = given.match_on;
    }
    existing.updated_on = given.updated_on;
    connections::save(conn, &existing)?;
    let kind = if connected {
        JobKind::UpdateMetadata
    } else {
        JobKind::Connect
    };
    let (job, _) = queue::enqueue_unless(
        conn,
        kind,
        &[JobKind::Connect, JobKind::UpdateMetadata],
        org.as_str(),
        added_by,
        &json!({}),
        max_tries,
    )?;
    Ok(job)
}

/// Applies a checked change to a connection's row (stored by the caller); true when the entity
/// selection changed, which the client's metadata must follow.
pub(super) fn apply(
    conn: &mut DbConn,
    org_id: i64,
    row: &mut ConnectionRow,
    change: ConnectionChange,
    new_password: Option<String>,
) -> Result<bool, EngineError> {
    if let Some(url) = change.url {
        // The Url is read as the connection's own provider reads it.
        if let Some(info) = crate::domain::provider::find(&row.provider) {
            crate::providers::check_url(info, &url)
                .map_err(|m| Refusal::new(Code::InvalidUrl, m).field("Url"))?;
        }
        row.url = url;
    }
    if let Some(u) = change.user_name {
        row.user_name = u;
    }
    if let Some(p) = new_password {
        row.password_enc = p;
    }
    let mut reselect = false;
    if let Some(e) = change.entities {
        let e = e.map(Json::new);
        reselect = e != row.entities;
        row.entities = e;
    }
    if let Some(filters) = change.filters {
        if let Some(source) = &filters {
            let selected = row.entities.as_ref().map(|e| e.get().as_slice());
            check_selected(source, selected)?;
        }
        row.sync_filters = filters.map(Json::new);
        retype_links(conn, org_id, row)?;
    }
    if let Some(w) = change.write_offline {
        row.write_offline = w;
    }
    if let Some(m) = change.mode {
        row.sync_mode = m;
    }
    if let Some(c) = change.policy {
        row.conflict_policy = c;
    }
    if let Some(i) = change.interval_secs {
        row.sync_interval_secs = i;
    }
    if let Some(m) = change.match_on {
        if let Some(m) = &m {
            m.check(&metadata::entities(conn, org_id)?)?;
        }
        row.match_on = m.map(Json::new);
    }
    if let Some(g) = change.delete_guard {
        row.delete_guard = g.map(Json::new);
    }
    Ok(reselect)
}
