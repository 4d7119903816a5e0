//! How the engine fails: storage, the backend, a rule, or a job told to stop. The HTTP edge
//! and the job edge each turn it into their own error.

use crate::db::DbError;
use crate::domain::error::{Code, Refusal};
use crate::domain::jobs::JobError;
use crate::providers::ProviderError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Db(DbError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("{0}")]
    Refused(Refusal),
    /// The job was cancelled, or its lease went to another worker: it stops at a batch boundary.
    #[error("the job was cancelled or lost its lease")]
    Stopped,
}

impl From<DbError> for EngineError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Refused(r) => Self::Refused(r),
            other => Self::Db(other),
        }
    }
}

impl From<diesel::result::Error> for EngineError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

impl From<Refusal> for EngineError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<EngineError> for JobError {
    fn from(e: EngineError) -> Self {
        match e {
            // A local database hiccup is worth another try.
            EngineError::Db(e) => {
                let code = if e.is_transient() {
                    Code::DatabaseUnavailable
                } else {
                    Code::InternalError
                };
                JobError::retryable(code, e.chain())
            }
            EngineError::Provider(e) => JobError {
                code: e.code().as_str().to_owned(),
                message: e.to_string(),
                retryable: e.retryable(),
            },
            EngineError::Refused(r) => JobError::from(r),
            EngineError::Stopped => {
                JobError::fatal(Code::Cancelled, EngineError::Stopped.to_string())
            }
        }
    }
}
