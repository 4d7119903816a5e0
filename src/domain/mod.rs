//! Types with rules and no I/O. Nothing here imports another layer of orgsync: the HTTP layer,
//! storage, the engine and the providers all speak these types.

/// `as_str`, `parse` and `Display` for an enum of unit variants whose wire names are the
/// variants' own names.
macro_rules! wire_names {
    ($t:ty { $($v:ident),* }) => {
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => stringify!($v)),* }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $(stringify!($v) => Some(Self::$v),)* _ => None }
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod access;
pub mod decimal;
pub mod digest;
pub mod error;
pub mod filter;
pub mod jobs;
pub mod metadata;
pub mod names;
pub mod policy;
pub mod provider;
pub mod record;
pub mod safety;
pub mod setup;
pub mod snapshot;
pub mod strict;
pub mod transaction;
