//! The kinds of job, one file each.

mod compare;
mod connect;
mod snapshot;
mod sync;
mod update_metadata;

pub use compare::CompareJob;
pub use connect::ConnectJob;
pub use snapshot::{GetSnapshotJob, SendSnapshotJob};
pub use sync::SyncJob;
pub use update_metadata::UpdateMetadataJob;
