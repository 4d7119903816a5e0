//! What storage gives back when it fails: its own error, never an HTTP one. The HTTP edge
//! turns it into a problem and the job edge into a job error, each keeping the cause.

use crate::domain::error::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A statement failed (the driver's error, kept whole).
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    /// No connection could be had in time.
    #[error("the database did not answer in time: {0}")]
    Pool(String),
    /// A stored value that cannot be read back: the row and what is wrong with it.
    #[error("a stored value cannot be read: {0}")]
    Corrupt(String),
    /// A rule of the stored data refused the operation (not found, already exists, settled…).
    #[error("{0}")]
    Refused(#[from] Refusal),
}

pub type DbResult<T> = Result<T, DbError>;

impl DbError {
    /// True when the same call may work later (busy, unreachable), not when it was refused.
    pub fn is_transient(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        matches!(
            self,
            Self::Pool(_)
                | Self::Query(Error::DatabaseError(
                    DatabaseErrorKind::SerializationFailure
                        | DatabaseErrorKind::ClosedConnection
                        | DatabaseErrorKind::UnableToSendCommand,
                    _,
                ))
        )
    }

    /// The error with every cause below it, for the log.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            let text = c.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            cause = c.source();
        }
        out
    }
}
