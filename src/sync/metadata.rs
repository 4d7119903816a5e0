//! The UpdateMetadata job ("update client"): the server's metadata replaces the client's for
//! the linked entities; the server always wins. Every added, changed and removed entity and
//! attribute is logged; an entity whose attributes changed is read in full at the next sync.

use std::collections::BTreeSet;

use super::connection::ready_connection;
use super::scope::{link_filter, select, typed_filters};
use super::{Engine, EngineError, Report};
use crate::db::connections::{self, LinkRow};
use crate::db::job_log::NewLog;
use crate::db::{metadata, orgs, write_tx};
use crate::domain::error::Code;
use crate::domain::jobs::{Finished, JobStatus, LogLevel, Summary};
use crate::domain::metadata::EntityDef;

/// What changes on the client.
enum Step {
    Add(EntityDef),
    Change(EntityDef),
    Remove(String),
}

pub async fn run(engine: &Engine, ctx: &dyn Report, org: &str) -> Result<Finished, EngineError> {
    let name = org.to_owned();
    let (org_id, connection, client, links) = engine
        .db
        .run(move |conn| {
            let (org_id, connection) = ready_connection(conn, &name)?;
            Ok::<_, EngineError>((
                org_id,
                connection,
                metadata::entities(conn, org_id)?,
                connections::links(conn, org_id)?,
            ))
        })
        .await?;
    let provider = engine.provider_for(&connection)?;
    ctx.progress("Metadata", 0, 2).await?;
    let server = provider.metadata().await?;
    let selected = match select(&connection, &server) {
        Ok(s) => s,
        // An entity the connection names that left the server is removed below, not an error.
        Err(e) if e.code == Code::EntityNotOnServer => server.clone(),
        Err(e) => return Err(e.into()),
    };
    let linked: BTreeSet<&str> = links.iter().map(|l| l.entity.as_str()).collect();
    let wanted: Vec<&EntityDef> = selected
        .iter()
        .filter(|d| linked.contains(d.name.as_str()) || connection.selects(d.name.as_str()))
        .collect();

    let mut steps = Vec::new();
    let mut log: Vec<NewLog> = Vec::new();
    for def in &wanted {
        match client.iter().find(|c| c.name == def.name) {
            None => {
                log.push(
                    ctx.entry(
                        LogLevel::Info,
                        "AddEntity",
                        format!("entity '{}' added", def.name),
                    )
                    .entity(def.name.as_str()),
                );
                steps.push(Step::Add((*def).clone()));
            }
            Some(current) if current != *def => {
                log.extend(diff(ctx, current, def));
                steps.push(Step::Change((*def).clone()));
            }
            Some(_) => {}
        }
    }
    for link in &links {
        if !wanted.iter().any(|d| d.name.as_str() == link.entity) {
            log.push(
                ctx.entry(
                    LogLevel::Warning,
                    "RemoveEntity",
                    format!(
                        "entity '{}' is no longer on the server; removed with its records",
                        link.entity
                    ),
                )
                .entity(&link.entity),
            );
            steps.push(Step::Remove(link.entity.clone()));
        }
    }
    // The filters must still fit the new metadata before anything changes.
    let new_metadata: Vec<EntityDef> = wanted.iter().map(|d| (*d).clone()).collect();
    let filters = typed_filters(&connection, &new_metadata)?;
    log.extend(backend_notes(ctx, provider.as_ref(), &new_metadata).await?);
    ctx.checkpoint().await?;

    ctx.progress("Apply", 1, 2).await?;
    let changed = steps.len();
    if changed == 0 {
        log.push(ctx.entry(
            LogLevel::Info,
            "Unchanged",
            "the client's metadata already equals the server's".to_owned(),
        ));
    }
    engine
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                orgs::lock(conn, org_id)?;
                for step in &steps {
                    match step {
                        Step::Add(def) | Step::Change(def) => {
                            metadata::store_entity(conn, org_id, def)?;
                            let name = def.name.as_str();
                            let existing = connections::link(conn, org_id, name)?;
                            let filter = link_filter(filters.as_ref(), name);
                            let link = match existing {
                                Some(old) => LinkRow {
                                    sync_filter: filter,
                                    needs_full: true,
                                    ..old
                                },
                                None => LinkRow::new(org_id, name, filter),
                            };
                            connections::save_link(conn, &link)?;
                        }
                        Step::Remove(name) => {
                            metadata::remove_entity(conn, org_id, name)?;
                            connections::delete_link(conn, org_id, name)?;
                        }
                    }
                }
                if !steps.is_empty() {
                    orgs::bump_metadata_version(conn, org_id)?;
                }
                Ok::<_, EngineError>(())
            })
        })
        .await?;
    ctx.log(log).await?;
    ctx.progress("Done", 2, 2).await?;
    Ok((JobStatus::Completed, Summary::new()))
}

/// A log line per attribute added, changed or removed.
fn diff(ctx: &dyn Report, client: &EntityDef, server: &EntityDef) -> Vec<NewLog> {
    let entity = server.name.as_str();
    let mut out = Vec::new();
    for a in &server.attributes {
        match client.attribute(a.name.as_str()) {
            None => out.push(
                ctx.entry(
                    LogLevel::Info,
                    "AddAttribute",
                    format!("{entity}.{} added ({:?})", a.name, a.kind),
                )
                .entity(entity),
            ),
            Some(old) if old != a => out.push(
                ctx.entry(
                    LogLevel::Info,
                    "ChangeAttribute",
                    format!("{entity}.{} changed", a.name),
                )
                .entity(entity),
            ),
            Some(_) => {}
        }
    }
    for a in &client.attributes {
        if server.attribute(a.name.as_str()).is_none() {
            out.push(
                ctx.entry(
                    LogLevel::Warning,
                    "RemoveAttribute",
                    format!("{entity}.{} removed", a.name),
                )
                .entity(entity),
            );
        }
    }
    if out.is_empty() {
        out.push(
            ctx.entry(
                LogLevel::Info,
                "ChangeEntity",
                format!("entity '{entity}' settings changed"),
            )
            .entity(entity),
        );
    }
    out
}

/// What the backend left out of its schema (warnings) and what it made ready for the
/// selected entities (the sql provider's change capture), as log entries.
pub(super) async fn backend_notes(
    ctx: &dyn Report,
    provider: &dyn crate::providers::Provider,
    selected: &[EntityDef],
) -> Result<Vec<NewLog>, EngineError> {
    let mut log: Vec<NewLog> = provider
        .left_out()
        .into_iter()
        .map(|line| ctx.entry(LogLevel::Warning, "LeftOut", line))
        .collect();
    for line in provider.prepare(selected).await? {
        log.push(ctx.entry(LogLevel::Info, "ChangeCapture", line));
    }
    Ok(log)
}
