//! The workflows of a connection that a request starts: connect, read and change the
//! connection and its links, disconnect, and queue its jobs (sync, metadata update).

use std::collections::HashMap;

use serde_json::json;

use super::change::{apply, reconnect};
use super::scope::{check_sync_request, link_filter};
use super::setup::{ConnectSetup, ConnectionChange};
use super::{Engine, EngineError};
use crate::crypto::Sealer;
use crate::db::connections::{self, ConnectionRow, LinkRow};
use crate::db::jobs::{self as queue, JobRow};
use crate::db::{metadata, now_micros, orgs, write_tx, DbConn, Json};
use crate::domain::error::{link_not_found, Code, Refusal};
use crate::domain::filter::SyncFilters;
use crate::domain::jobs::{JobError, JobKind};
use crate::domain::metadata::EntityDef;
use crate::domain::names::OrgName;
use crate::domain::setup::ConnectionState;
use crate::providers::{self, Provider, ProviderConfig};
use crate::wire::sync::{LinkPatch, SyncRequest};

/// A connection as it is shown: its org, its settings and its links.
#[derive(Debug, Clone)]
pub struct ConnectionView {
    pub org: String,
    pub connection: ConnectionRow,
    pub links: Vec<LinkRow>,
    /// The org's sync job the delete guard holds, when there is one.
    pub held_job: Option<String>,
}

/// The connection's Connect job has finished: only then may it sync.
pub fn ready(org: &str, connection: &ConnectionRow) -> Result<(), Refusal> {
    if connection.state == ConnectionState::Connected {
        return Ok(());
    }
    Err(Refusal::new(
        Code::NotConnectedYet,
        format!(
            "the connection of '{org}' is {}; wait for its Connect job",
            connection.state
        ),
    ))
}

/// The org's connection, ready to sync, with the org's id.
pub fn ready_connection(conn: &mut DbConn, org: &str) -> Result<(i64, ConnectionRow), EngineError> {
    let (org_row, connection) = connections::of_org(conn, org)?;
    ready(org, &connection)?;
    Ok((org_row.id, connection))
}

/// What a job working on an org's links reads first.
pub struct Linked {
    pub org_id: i64,
    /// Ready to sync.
    pub connection: ConnectionRow,
    /// The org's entities by name.
    pub defs: HashMap<String, EntityDef>,
    pub links: Vec<LinkRow>,
}

impl Linked {
    pub async fn load(engine: &Engine, org: &str) -> Result<Self, EngineError> {
        let name = org.to_owned();
        engine
            .db
            .run(move |conn| {
                let (org_id, connection) = ready_connection(conn, &name)?;
                let defs = metadata::entities(conn, org_id)?
                    .into_iter()
                    .map(|d| (d.name.to_string(), d))
                    .collect();
                let links = connections::links(conn, org_id)?;
                Ok(Self {
                    org_id,
                    connection,
                    defs,
                    links,
                })
            })
            .await
    }
}

fn sealer_error(e: crate::crypto::SealError) -> EngineError {
    Refusal::new(Code::InternalError, e.to_string()).into()
}

fn view(conn: &mut DbConn, org: &str) -> Result<ConnectionView, EngineError> {
    let (org_row, connection) = connections::of_org(conn, org)?;
    let links = connections::links(conn, org_row.id)?;
    let held_job = queue::held(conn, org)?.map(|j| j.id);
    Ok(ConnectionView {
        org: org.to_owned(),
        connection,
        links,
        held_job,
    })
}

impl Engine {
    /// Registers `org` when it does not exist, stores the connection (the password sealed)
    /// and queues the Connect job.
    pub async fn connect(
        &self,
        org: OrgName,
        setup: ConnectSetup,
        added_by: &str,
    ) -> Result<JobRow, EngineError> {
        let password_enc = Sealer::new(&self.settings.secret_key)
            .seal(&setup.password)
            .map_err(sealer_error)?;
        let max_tries = self.settings.job_max_tries;
        let added_by = added_by.to_owned();
        let now = now_micros();
        let registration = Json::new(setup.registration.clone());
        let mut row = ConnectionRow {
            org_id: 0,
            provider: setup.provider.provider_id.to_owned(),
            url: setup.url,
            user_name: setup.user_name,
            password_enc,
            entities: setup.entities.map(Json::new),
            sync_filters: setup.filters.map(Json::new),
            write_offline: setup.write_offline,
            sync_mode: setup.mode,
            conflict_policy: setup.policy,
            sync_interval_secs: setup.interval_secs,
            state: ConnectionState::Connecting,
            last_error: None,
            last_sync_on: None,
            created_on: now,
            updated_on: now,
            match_on: setup.match_on.map(Json::new),
            delete_guard: setup.delete_guard.map(Json::new),
            change_capture: setup.change_capture,
        };
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let org_row = match orgs::find(conn, org.as_str())? {
                        Some(o) => o,
                        None => orgs::create(
                            conn,
                            &orgs::NewOrg {
                                name: org.as_str(),
                                display_name: None,
                                registration_info: Some(registration),
                                quotas: None,
                                created_on: now,
                                uid: crate::db::new_uid(),
                            },
                        )?,
                    };
                    if let Some(existing) = connections::get(conn, org_row.id)? {
                        return reconnect(
                            conn, &org, org_row.id, existing, row, &added_by, max_tries,
                        );
                    }
                    row.org_id = org_row.id;
                    connections::insert(conn, &row)?;
                    Ok(queue::enqueue(
                        conn,
                        JobKind::Connect,
                        org.as_str(),
                        &added_by,
                        &json!({}),
                        max_tries,
                    )?)
                })
            })
            .await
    }

    /// The connection's settings (never the password), state and links.
    pub async fn connection(&self, org: &str) -> Result<ConnectionView, EngineError> {
        let org = org.to_owned();
        self.db.run(move |conn| view(conn, &org)).await
    }

    /// Changes settings of the connection. A new entity selection queues an UpdateMetadata
    /// job (given back); new filters are typed by the client's metadata and the links whose
    /// filter changed are read in full at the next sync.
    pub async fn change_connection(
        &self,
        org: &str,
        change: ConnectionChange,
        added_by: &str,
    ) -> Result<(ConnectionView, Option<JobRow>), EngineError> {
        let new_password = change
            .password
            .as_deref()
            .map(|p| Sealer::new(&self.settings.secret_key).seal(p))
            .transpose()
            .map_err(sealer_error)?;
        let (org, added_by) = (org.to_owned(), added_by.to_owned());
        let max_tries = self.settings.job_max_tries;
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let (org_row, mut row) = connections::of_org(conn, &org)?;
                    let reselect = apply(conn, org_row.id, &mut row, change, new_password)?;
                    connections::save(conn, &row)?;
                    let job = if reselect && row.state == ConnectionState::Connected {
                        let params = json!({});
                        let (job, _) = queue::enqueue_once(
                            conn,
                            JobKind::UpdateMetadata,
                            &org,
                            &added_by,
                            &params,
                            max_tries,
                        )?;
                        Some(job)
                    } else {
                        None
                    };
                    Ok((view(conn, &org)?, job))
                })
            })
            .await
    }

    /// Removes the connection and its links and cancels the org's waiting jobs (queued, or
    /// held by the delete guard: their deletes were planned for this connection); the org and
    /// its records stay.
    /// Removes the connection; with `drop_capture`, first what its provider made in the
    /// backend (the sql provider's change capture): when that fails, the connection stays.
    pub async fn disconnect(&self, org: &str, drop_capture: bool) -> Result<(), EngineError> {
        if drop_capture {
            let name = org.to_owned();
            let (_, connection) = self
                .db
                .run(move |conn| Ok::<_, EngineError>(connections::of_org(conn, &name)?))
                .await?;
            let removed = self.provider_for(&connection)?.unprepare().await?;
            for line in removed {
                tracing::info!(org, "{line}");
            }
        }
        let org = org.to_owned();
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let (org_row, _) = connections::of_org(conn, &org)?;
                    connections::delete(conn, org_row.id)?;
                    queue::cancel_waiting(conn, &org)?;
                    Ok(())
                })
            })
            .await
    }

    pub async fn links(&self, org: &str) -> Result<Vec<LinkRow>, EngineError> {
        Ok(self.connection(org).await?.links)
    }

    /// Switches a link's directions or changes its filter (typed by the client's metadata);
    /// a changed filter re-reads the link in full.
    pub async fn change_link(
        &self,
        org: &str,
        entity: &str,
        patch: LinkPatch,
    ) -> Result<LinkRow, EngineError> {
        let (org, entity) = (org.to_owned(), entity.to_owned());
        self.db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    let (org_row, _) = connections::of_org(conn, &org)?;
                    let mut link = connections::link(conn, org_row.id, &entity)?
                        .ok_or_else(|| link_not_found(&entity))?;
                    if let Some(i) = patch.inbound {
                        link.inbound = i;
                    }
                    if let Some(o) = patch.outbound {
                        // Writes made while Outbound was off never reached the server: the
                        // link waits for a Send snapshot before it captures again.
                        let synced = link.checkpoint.is_some() || link.last_sync_on.is_some();
                        if o && !link.outbound && synced {
                            link.awaiting_send = true;
                        }
                        if !o {
                            link.awaiting_send = false;
                        }
                        link.outbound = o;
                    }
                    if let Some(filter) = patch.snapshot_filter {
                        if let Some(f) = &filter {
                            let def = metadata::require_entity(conn, org_row.id, &entity)?;
                            f.validate(&def)?;
                        }
                        link.snapshot_filter = filter.map(Json::new);
                    }
                    if let Some(filter) = patch.sync_filter {
                        let typed = match filter {
                            None => None,
                            Some(f) => {
                                let def = metadata::require_entity(conn, org_row.id, &entity)?;
                                let parsed = SyncFilters::from_json(&json!({ entity.as_str(): f }))
                                    .map_err(Refusal::from)?;
                                let valid = parsed.validate_for(&def).map_err(Refusal::from)?;
                                link_filter(Some(&valid), &entity)
                            }
                        };
                        if typed != link.sync_filter {
                            link.sync_filter = typed;
                            link.needs_full = true;
                        }
                    }
                    connections::save_link(conn, &link)?;
                    Ok(link)
                })
            })
            .await
    }

    /// Queues a sync of `org`, or gives the one already queued or running (false).
    pub async fn sync_async(
        &self,
        org: &str,
        request: SyncRequest,
        added_by: &str,
    ) -> Result<(JobRow, bool), EngineError> {
        let params = serde_json::to_value(&request)
            .map_err(|e| Refusal::new(Code::InternalError, e.to_string()))?;
        self.enqueue(org, JobKind::Sync, params, added_by, move |conn, org_id| {
            check_sync_request(conn, org_id, &request)
        })
        .await
    }

    /// Queues the metadata update of `org` ("update client"), or gives the one already
    /// queued or running (false).
    pub async fn update_metadata_async(
        &self,
        org: &str,
        added_by: &str,
    ) -> Result<(JobRow, bool), EngineError> {
        self.enqueue(org, JobKind::UpdateMetadata, json!({}), added_by, |_, _| {
            Ok(())
        })
        .await
    }

    pub(super) async fn enqueue(
        &self,
        org: &str,
        kind: JobKind,
        params: serde_json::Value,
        added_by: &str,
        check: impl FnOnce(&mut DbConn, i64) -> Result<(), EngineError> + Send + 'static,
    ) -> Result<(JobRow, bool), EngineError> {
        let (org, added_by) = (org.to_owned(), added_by.to_owned());
        let max_tries = self.settings.job_max_tries;
        self.db
            .run(move |conn| {
                let (org_id, _) = ready_connection(conn, &org)?;
                check(conn, org_id)?;
                write_tx(conn, |conn| {
                    Ok(queue::enqueue_once(
                        conn, kind, &org, &added_by, &params, max_tries,
                    )?)
                })
            })
            .await
    }

    /// One sync job per connected org (an org's sync already queued or running is reused).
    pub async fn sync_all(&self, added_by: &str) -> Result<Vec<JobRow>, EngineError> {
        let added_by = added_by.to_owned();
        let max_tries = self.settings.job_max_tries;
        self.db
            .run(move |conn| {
                let mut out = Vec::new();
                for org in connections::connected_orgs(conn)? {
                    let (job, _) = write_tx(conn, |conn| {
                        queue::enqueue_once(
                            conn,
                            JobKind::Sync,
                            &org,
                            &added_by,
                            &json!({}),
                            max_tries,
                        )
                    })?;
                    out.push(job);
                }
                Ok(out)
            })
            .await
    }

    /// The provider behind a connection, with its password opened.
    pub fn provider_for(
        &self,
        connection: &ConnectionRow,
    ) -> Result<Box<dyn Provider>, EngineError> {
        let password = Sealer::new(&self.settings.secret_key)
            .open(&connection.password_enc)
            .map_err(|_| {
                Refusal::new(
                    Code::CredentialsUnreadable,
                    "the connection's password cannot be opened with this process's ORGSYNC_SECRET_KEY; \
                     every process on one database must share the key",
                )
            })?;
        Ok(providers::connect(ProviderConfig {
            provider_id: connection.provider.clone(),
            url: connection.url.clone(),
            user_name: connection.user_name.clone(),
            password,
            timeout: self.settings.provider_timeout,
            policy: self.settings.backend_policy.clone(),
            response_limit: self.settings.provider_response_limit,
            change_capture: connection.change_capture,
            retention: self.settings.tombstone_retention,
            // Stable for the connection's life, shared by the processes serving it, and
            // another connection's (of this instance or another) in practice never.
            writer: format!("c{}-{}", connection.org_id, connection.created_on),
        })?)
    }

    /// A connect that failed for good leaves its connection `Failed`, with the reason.
    pub async fn connect_failed(&self, org: &str, error: &JobError) -> Result<(), EngineError> {
        let (org, message) = (org.to_owned(), error.to_string());
        self.db
            .run(move |conn| {
                let Some(org) = orgs::find(conn, &org)? else {
                    return Ok(());
                };
                Ok(connections::set_state(
                    conn,
                    org.id,
                    ConnectionState::Failed,
                    Some(&message),
                )?)
            })
            .await
    }
}
