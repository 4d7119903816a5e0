//! The Connect job: sign in to the server, bring its metadata to the client org, create the
//! links, and mark the connection connected.

use crate::db::connections::{self, LinkRow};
use crate::db::{metadata, orgs, write_tx};
use crate::domain::setup::ConnectionState;
use crate::jobs::worker::JobContext;
use crate::jobs::{JobError, JobStatus, LogLevel, Summary};

pub async fn run(ctx: &JobContext) -> Result<(JobStatus, Summary), JobError> {
    let (org, connection) = super::load(ctx).await?;
    let provider = super::provider_for(&ctx.state, &connection)?;
    ctx.progress("Authenticate", 0, 3).await?;
    provider.authenticate().await?;
    ctx.info(
        "Authenticate",
        format!(
            "signed in to {} as {}",
            connection.url, connection.user_name
        ),
    )
    .await?;
    ctx.checkpoint().await?;

    ctx.progress("Metadata", 1, 3).await?;
    let server = provider.metadata().await?;
    let selected = super::select(&connection, &server)?;
    let filters = super::check_filters(&connection, &server)?;
    ctx.checkpoint().await?;

    ctx.progress("Apply", 2, 3).await?;
    let mut log = Vec::new();
    for def in &selected {
        log.push(
            ctx.entry(
                LogLevel::Info,
                "CreateEntity",
                format!(
                    "entity '{}' with {} attributes",
                    def.name,
                    def.attributes.len()
                ),
            )
            .entity(def.name.as_str()),
        );
    }
    let org_id = org.id;
    ctx.state
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
                        super::link_filter(filters.as_ref(), def.name.as_str()),
                    );
                    if let Some(old) = existing {
                        link.inbound = old.inbound;
                        link.outbound = old.outbound;
                    }
                    connections::save_link(conn, &link)?;
                }
                orgs::bump_metadata_version(conn, org_id)?;
                connections::set_state(conn, org_id, ConnectionState::Connected.as_str(), None)?;
                Ok(())
            })
        })
        .await?;
    ctx.log(log).await?;
    ctx.progress("Done", 3, 3).await?;
    Ok((JobStatus::Completed, Summary::new()))
}
