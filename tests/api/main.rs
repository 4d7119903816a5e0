//! End-to-end tests: a real orgsync on a loopback port, on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod auth;
mod bad_input;
mod batch;
mod changes;
mod connect;
mod metadata;
mod ops;
mod orgs;
mod processes;
mod records;
mod sync;
mod transactions;
