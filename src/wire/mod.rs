//! The shapes that cross the wire and that more than the HTTP layer speaks: batches and their
//! results, the change feed, tokens, registration info and quotas, the sync requests, and the
//! problem body. `api` serves them, the engine (`sync`) and the providers read and write them;
//! none of them knows HTTP.

pub mod auth;
pub mod batch;
pub mod changes;
pub mod compare;
pub mod explain;
pub mod orgs;
pub mod overview;
pub mod problem;
pub mod sync;
pub mod timeline;
