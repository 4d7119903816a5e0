//! Types with rules and no I/O.

pub mod filter;
pub mod metadata;
pub mod names;
pub mod record;
