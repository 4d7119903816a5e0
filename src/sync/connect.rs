//! The Connect job: sign in to the server, bring its metadata to the client org, create the
//! links, and mark the connection connected.

use super::scope::{link_filter, select, typed_filters};
use super::{Engine, EngineError, Report};
use crate::db::connections::{self, LinkRow};
use crate::db::{metadata, orgs, write_tx};
use crate::domain::jobs::{Finished, JobStatus, LogLevel, Summary};
use crate::domain::setup::ConnectionState;

pub async fn run(engine: &Engine, report: &dyn Report, org: &str) -> Result<Finished, EngineError> {
    let name = org.to_owned();
    let (org, connection) = engine
        .db
        .run(move |conn| Ok::<_, EngineError>(connections::of_org(conn, &name)?))
        .await?;
    let provider = engine.provider_for(&connection)?;
    report.progress("Authenticate", 0, 3).await?;
    provider.authenticate().await?;
    report
        .info(
            "Authenticate",
            format!(
                "signed in to {} as {}",
                connection.url, connection.user_name
            ),
        )
        .await?;
    report.checkpoint().await?;

    report.progress("Metadata", 1, 3).await?;
    let server = provider.metadata().await?;
    let selected = select(&connection, &server)?;
    let filters = typed_filters(&connection, &server)?;
    if let Some(match_on) = &connection.match_on {
        match_on.get().check(&selected)?;
    }
    let notes = super::metadata::backend_notes(report, provider.as_ref(), &selected).await?;
    report.log(notes).await?;
    report.checkpoint().await?;

    report.progress("Apply", 2, 3).await?;
    let log: Vec<_> = selected
        .iter()
        .map(|def| {
            report
                .entry(
                    LogLevel::Info,
                    "CreateEntity",
                    format!(
                        "entity '{}' with {} attributes",
                        def.name,
                        def.attributes.len()
                    ),
                )
                .entity(def.name.as_str())
        })
        .collect();
    let org_id = org.id;
    engine
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                orgs::lock(conn, org_id)?;
                for def in &selected {
                    metadata::store_entity(conn, org_id, def)?;
                    let existing = connections::link(conn, org_id, def.name.as_str())?;
                    let mut link = LinkRow::new(
                        org_id,
                        def.name.as_str(),
                        link_filter(filters.as_ref(), def.name.as_str()),
                    );
                    if let Some(old) = existing {
                        link.inbound = old.inbound;
                        link.outbound = old.outbound;
                    }
                    connections::save_link(conn, &link)?;
                }
                orgs::bump_metadata_version(conn, org_id)?;
                connections::set_state(conn, org_id, ConnectionState::Connected, None)?;
                Ok::<_, EngineError>(())
            })
        })
        .await?;
    report.log(log).await?;
    report.progress("Done", 3, 3).await?;
    Ok((JobStatus::Completed, Summary::new()))
}
