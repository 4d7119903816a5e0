//! Connections of client orgs and their links.

use diesel::prelude::*;

use super::orgs::{self, OrgRow};
use super::schema::{connections, link_seen, links};
use super::{now_micros, DbConn, DbResult, Json};
use crate::domain::error::not_connected;
use crate::domain::names::LogicalName;
use crate::domain::safety::{DeleteGuard, MatchOn};
use crate::domain::setup::{ConflictPolicy, ConnectionState, FilterSource, SyncMode};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = connections, treat_none_as_null = true)]
pub struct ConnectionRow {
    pub org_id: i64,
    /// The provider's GUID.
    pub provider: String,
    pub url: String,
    pub user_name: String,
    /// Sealed with the configured secret key; see [`crate::crypto`].
    pub password_enc: String,
    /// The entities synced; `None`: every entity of the server.
    pub entities: Option<Json<Vec<LogicalName>>>,
    /// The filters as given (their grammar checked), typed by the server's metadata when the
    /// Connect job runs.
    pub sync_filters: Option<Json<FilterSource>>,
    pub write_offline: bool,
    pub sync_mode: SyncMode,
    pub conflict_policy: ConflictPolicy,
    pub sync_interval_secs: Option<i64>,
    pub state: ConnectionState,
    pub last_error: Option<String>,
    pub last_sync_on: Option<i64>,
    pub created_on: i64,
    pub updated_on: i64,
    /// The attributes that adopt existing client records on a link's first sync.
    pub match_on: Option<Json<MatchOn>>,
    /// `None`: the default guard.
    pub delete_guard: Option<Json<DeleteGuard>>,
    /// The admin consented to change capture in the external database (sql provider).
    pub change_capture: bool,
}

pub fn get(conn: &mut DbConn, org_id: i64) -> DbResult<Option<ConnectionRow>> {
    Ok(connections::table
        .find(org_id)
        .select(ConnectionRow::as_select())
        .first(conn)
        .optional()?)
}

impl ConnectionRow {
    /// Whether the connection selects `entity` (every entity when it names none).
    /// The delete guard of the connection's jobs.
    pub fn guard(&self) -> DeleteGuard {
        self.delete_guard
            .as_ref()
            .map(|g| *g.get())
            .unwrap_or_default()
    }

    pub fn selects(&self, entity: &str) -> bool {
        self.entities
            .as_ref()
            .is_none_or(|list| list.get().iter().any(|e| e.as_str() == entity))
    }
}

/// The org named `org` and its connection, or the refusal naming what is missing.
pub fn of_org(conn: &mut DbConn, org: &str) -> DbResult<(OrgRow, ConnectionRow)> {
    let org_row = orgs::require(conn, org)?;
    let connection = get(conn, org_row.id)?.ok_or_else(|| not_connected(org))?;
    Ok((org_row, connection))
}

/// The names of the orgs whose connection is `Connected`, in name order.
pub fn connected_orgs(conn: &mut DbConn) -> DbResult<Vec<String>> {
    use super::schema::orgs;
    Ok(connections::table
        .inner_join(orgs::table)
        .filter(connections::state.eq(ConnectionState::Connected))
        .order(orgs::name.asc())
        .select(orgs::name)
        .load(conn)?)
}

/// A connected org with a periodic sync: its name, interval (seconds), last sync and the
/// last change of its connection.
pub type Periodic = (String, i64, Option<i64>, i64);

/// Connected orgs with a `SyncInterval`.
pub fn with_interval(conn: &mut DbConn) -> DbResult<Vec<Periodic>> {
    use super::schema::orgs;
    Ok(connections::table
        .inner_join(orgs::table)
        .filter(connections::state.eq(ConnectionState::Connected))
        .filter(connections::sync_interval_secs.is_not_null())
        .select((
            orgs::name,
            connections::sync_interval_secs.assume_not_null(),
            connections::last_sync_on,
            connections::updated_on,
        ))
        .load(conn)?)
}

pub fn insert(conn: &mut DbConn, row: &ConnectionRow) -> DbResult<()> {
    diesel::insert_into(connections::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn save(conn: &mut DbConn, row: &ConnectionRow) -> DbResult<()> {
    let mut row = row.clone();
    row.updated_on = now_micros();
    diesel::update(connections::table.find(row.org_id))
        .set(&row)
        .execute(conn)?;
    Ok(())
}

pub fn set_state(
    conn: &mut DbConn,
    org_id: i64,
    state: ConnectionState,
    error: Option<&str>,
) -> DbResult<()> {
    diesel::update(connections::table.find(org_id))
        .set((
            connections::state.eq(state),
            connections::last_error.eq(error),
            connections::updated_on.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes the connection and its links, inside the caller's write transaction; the org and
/// its records stay. False when there was none.
pub fn delete(conn: &mut DbConn, org_id: i64) -> DbResult<bool> {
    diesel::delete(links::table.filter(links::org_id.eq(org_id))).execute(conn)?;
    Ok(diesel::delete(connections::table.find(org_id)).execute(conn)? == 1)
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = links, treat_none_as_null = true)]
pub struct LinkRow {
    pub org_id: i64,
    pub entity: String,
    pub inbound: bool,
    pub outbound: bool,
    /// The entity's filter in its canonical JSON form.
    pub sync_filter: Option<Json<serde_json::Value>>,
    /// The server's change token the next download starts from.
    pub checkpoint: Option<String>,
    /// The next download reads the link in full (new link, changed filter, expired token).
    pub needs_full: bool,
    /// A full read is under way (it resumes from `full_token` after a crash).
    pub full_running: bool,
    pub full_token: Option<String>,
    /// The full read under way records the ids it sees, to remove the rest at its end.
    pub sweep: bool,
    pub last_sync_on: Option<i64>,
    /// The filter of the link's snapshots, as `SnapshotRequest.Filters` takes it.
    pub snapshot_filter: Option<Json<crate::domain::snapshot::SnapshotFilter>>,
    /// Outbound was switched on again after the link had synchronized: client writes are not
    /// captured and the upload skips the link until a full Send snapshot of it completes.
    pub awaiting_send: bool,
}

impl LinkRow {
    /// `On`, `Off`, or `AwaitingSendSnapshot`.
    pub fn outbound_state(&self) -> &'static str {
        match (self.outbound, self.awaiting_send) {
            (false, _) => "Off",
            (true, true) => "AwaitingSendSnapshot",
            (true, false) => "On",
        }
    }

    /// Client writes to the link's entity become transactions for the server.
    pub fn captures(&self) -> bool {
        self.outbound && !self.awaiting_send
    }

    /// A new link, read in full at the next sync.
    pub fn new(org_id: i64, entity: &str, sync_filter: Option<Json<serde_json::Value>>) -> Self {
        Self {
            org_id,
            entity: entity.to_owned(),
            inbound: true,
            outbound: true,
            sync_filter,
            checkpoint: None,
            needs_full: true,
            full_running: false,
            full_token: None,
            sweep: false,
            last_sync_on: None,
            snapshot_filter: None,
            awaiting_send: false,
        }
    }
}

pub fn links(conn: &mut DbConn, org_id: i64) -> DbResult<Vec<LinkRow>> {
    Ok(links::table
        .filter(links::org_id.eq(org_id))
        .order(links::entity.asc())
        .select(LinkRow::as_select())
        .load(conn)?)
}

pub fn link(conn: &mut DbConn, org_id: i64, entity: &str) -> DbResult<Option<LinkRow>> {
    Ok(links::table
        .find((org_id, entity))
        .select(LinkRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn save_link(conn: &mut DbConn, link: &LinkRow) -> DbResult<()> {
    let n = diesel::update(links::table.find((link.org_id, link.entity.as_str())))
        .set(link)
        .execute(conn)?;
    if n == 0 {
        diesel::insert_into(links::table)
            .values(link)
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_link(conn: &mut DbConn, org_id: i64, entity: &str) -> DbResult<()> {
    diesel::delete(links::table.find((org_id, entity))).execute(conn)?;
    clear_seen(conn, org_id, entity)
}

/// Records ids a full read has seen.
pub fn add_seen(conn: &mut DbConn, org_id: i64, entity: &str, ids: &[String]) -> DbResult<()> {
    let rows: Vec<_> = ids
        .iter()
        .map(|id| {
            (
                link_seen::org_id.eq(org_id),
                link_seen::entity.eq(entity),
                link_seen::id.eq(id),
            )
        })
        .collect();
    match conn {
        DbConn::Pg(c) => {
            for chunk in rows.chunks(1000) {
                diesel::insert_into(link_seen::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
        }
        DbConn::Sqlite(c) => {
            for row in rows {
                diesel::insert_into(link_seen::table)
                    .values(row)
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
        }
    }
    Ok(())
}

/// Live client records of `entity` that the full read did not see, in id order after `after`.
pub fn unseen(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    after: &str,
    limit: i64,
) -> DbResult<Vec<String>> {
    use super::schema::records;
    let seen = link_seen::table
        .filter(link_seen::org_id.eq(org_id))
        .filter(link_seen::entity.eq(entity))
        .select(link_seen::id);
    Ok(records::table
        .filter(records::org_id.eq(org_id))
        .filter(records::entity.eq(entity))
        .filter(records::deleted.eq(false))
        .filter(records::id.gt(after))
        .filter(records::id.ne_all(seen))
        .order(records::id.asc())
        .limit(limit)
        .select(records::id)
        .load(conn)?)
}

pub fn clear_seen(conn: &mut DbConn, org_id: i64, entity: &str) -> DbResult<()> {
    diesel::delete(
        link_seen::table
            .filter(link_seen::org_id.eq(org_id))
            .filter(link_seen::entity.eq(entity)),
    )
    .execute(conn)?;
    Ok(())
}

/// Records when the connection last synced.
pub fn set_last_sync(conn: &mut DbConn, org_id: i64, at: i64) -> DbResult<()> {
    diesel::update(connections::table.find(org_id))
        .set((
            connections::last_sync_on.eq(at),
            connections::updated_on.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// When each connected org's last sync completed, for the metrics.
pub fn last_syncs(conn: &mut DbConn) -> DbResult<Vec<(String, i64)>> {
    use super::schema::orgs;
    let rows: Vec<(String, Option<i64>)> = connections::table
        .inner_join(orgs::table.on(orgs::id.eq(connections::org_id)))
        .select((orgs::name, connections::last_sync_on))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(org, at)| at.map(|at| (org, at)))
        .collect())
}
