//! The test kit shared by the API tests (`tests/api`) and the sync benchmark (`bench/sync`):
//! each includes this folder with `#[path = "…/testkit/mod.rs"] mod testkit;`.
//!
//! - [`launch`]: orgsync in process ([`launch::TestApp`]) or as the real binary
//!   ([`launch::Process`]); the only place that calls orgsync's startup API.
//! - [`client`]: the one HTTP client, raw requests and typed shortcuts.
//! - [`fixtures`]: the CRM entities, record builders, the server org and shared secrets.
//! - [`net`]: ports, a tarpit, a proxy that can take a server down, a fake server with one
//!   fixed answer, and raw requests.
//! - [`digest`]: an order-independent view of an entity's records.

// Each including target uses its own part of the kit.
#![allow(dead_code)]

pub mod client;
pub mod digest;
pub mod fixtures;
pub mod launch;
pub mod net;
