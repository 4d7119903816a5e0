//! The sql provider: a server org that is the tables of an external PostgreSQL or SQLite
//! database (`DESIGN.md` §4, "The sql provider").

pub mod capture;
pub mod catalog;
mod introspect;
pub mod url;
