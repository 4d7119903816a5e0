//! The pages a download reads: each change prepared for the client as its page is read (see
//! [`Prepared`]), so a page read ahead is prepared while the one before it is written.

use crate::domain::metadata::EntityDef;
use crate::providers::{ChangesQuery, Provider, ProviderError, RemoteChange, RemoteChanges};
use crate::sync::plan::{prepare, Prepared};

/// A page of the server's changes, prepared for the client (see [`Prepared`]): read ahead, the
/// page is prepared while the one before it is written.
pub(super) struct Page {
    pub changes: Vec<Prepared>,
    pub next: String,
    pub more: bool,
}

pub(super) async fn read(
    provider: &dyn Provider,
    def: &EntityDef,
    query: &ChangesQuery,
) -> Result<Page, ProviderError> {
    let RemoteChanges {
        changes,
        next,
        more,
    } = provider.changes(query).await?;
    Ok(Page {
        changes: prepare_all(def, changes),
        next,
        more,
    })
}

pub(super) fn prepare_all(def: &EntityDef, changes: Vec<RemoteChange>) -> Vec<Prepared> {
    changes.into_iter().map(|c| prepare(def, c)).collect()
}
