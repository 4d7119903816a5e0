//! The options of `orgsync serve`: each one is also an `ORGSYNC_*` environment variable, and
//! `.env` may hold it too. A flag wins over the environment, the environment over `.env`.

use clap::Args;

/// Declares the options once: the flag, its variable and its help come from one line each.
macro_rules! serve_options {
    ($( $(#[doc = $doc:literal])* $field:ident, $var:literal, $value:literal; )*) => {
        #[derive(Debug, Default, Args)]
        pub struct ServeArgs {
            $(
                $(#[doc = $doc])*
                #[arg(long, env = $var, value_name = $value, hide_env_values = true)]
                pub $field: Option<String>,
            )*
        }

        impl ServeArgs {
            /// Hands the flags given on the command line to `Settings::from_env`, which checks
            /// and reads every value in one place.
            pub fn export(&self) {
                $(
                    if let Some(value) = &self.$field {
                        std::env::set_var($var, value);
                    }
                )*
            }
        }
    };
}

serve_options! {
    /// postgres://… or sqlite://PATH [default: sqlite://./data/orgsync.db]
    database_url, "ORGSYNC_DATABASE_URL", "URL";
    /// Address and port to listen on [default: 127.0.0.1:8080]
    bind, "ORGSYNC_BIND", "HOST:PORT";
    /// Folder of the generated secrets [default: the SQLite file's folder, or ./data]
    data_dir, "ORGSYNC_DATA_DIR", "DIR";
    /// Signs bearer tokens (32 bytes or more) [default: generated in the data folder]
    jwt_secret, "ORGSYNC_JWT_SECRET", "SECRET";
    /// Encrypts connection credentials at rest (32 bytes or more) [default: generated in the data folder]
    secret_key, "ORGSYNC_SECRET_KEY", "SECRET";
    /// Background job workers of this process; 0 runs no jobs [default: 2]
    workers, "ORGSYNC_WORKERS", "N";
    /// HTTP worker threads [default: one per core]
    http_workers, "ORGSYNC_HTTP_WORKERS", "N";
    /// Database connections in the pool [default: 16]
    db_pool_size, "ORGSYNC_DB_POOL_SIZE", "N";
    /// How long a job stays claimed without a heartbeat [default: 30s]
    job_lease, "ORGSYNC_JOB_LEASE", "DURATION";
    /// How often an idle worker looks for work [default: 1s]
    job_poll, "ORGSYNC_JOB_POLL", "DURATION";
    /// Tries of a job before it fails [default: 5]
    job_max_tries, "ORGSYNC_JOB_MAX_TRIES", "N";
    /// First retry delay, doubled on each further try up to an hour [default: 5s]
    job_backoff, "ORGSYNC_JOB_BACKOFF", "DURATION";
    /// Limit of every call to a backend [default: 30s]
    provider_timeout, "ORGSYNC_PROVIDER_TIMEOUT", "DURATION";
    /// Changes read and applied per batch by a sync, 1 to 10000 [default: 2000]
    sync_batch, "ORGSYNC_SYNC_BATCH", "N";
    /// Whether this process enqueues the periodic syncs: on or off [default: on]
    scheduler, "ORGSYNC_SCHEDULER", "on|off";
    /// How long deletions are remembered for the change feed [default: 30d]
    tombstone_retention, "ORGSYNC_TOMBSTONE_RETENTION", "DURATION";
    /// How long finished jobs and settled transactions are kept [default: 30d]
    job_retention, "ORGSYNC_JOB_RETENTION", "DURATION";
    /// text or json [default: text]
    log_format, "ORGSYNC_LOG_FORMAT", "FORMAT";
    /// Largest accepted request body, in bytes [default: 16777216]
    body_limit, "ORGSYNC_BODY_LIMIT", "BYTES";
    /// Lifetime of tokens from POST /rest/v1/auth/token [default: 1h]
    token_ttl, "ORGSYNC_TOKEN_TTL", "DURATION";
    /// Opens link-local or metadata addresses to backends: host names and CIDRs, comma-separated
    backend_allow, "ORGSYNC_BACKEND_ALLOW", "LIST";
    /// Closes more addresses to backends: host names and CIDRs, comma-separated
    backend_deny, "ORGSYNC_BACKEND_DENY", "LIST";
    /// Largest answer read from a backend, in bytes [default: 67108864]
    provider_response_limit, "ORGSYNC_PROVIDER_RESPONSE_LIMIT", "BYTES";
    /// A page of records or changes ends early once it holds this many bytes [default: 4194304]
    page_bytes, "ORGSYNC_PAGE_BYTES", "BYTES";
    /// Largest record, its attributes as JSON, in bytes [default: 1048576]
    record_max_bytes, "ORGSYNC_RECORD_MAX_BYTES", "BYTES";
    /// Failed sign-ins a minute per user name before attempts wait [default: 10]
    signin_per_user, "ORGSYNC_SIGNIN_PER_USER", "N";
    /// Failed sign-ins a minute per address before attempts wait [default: 30]
    signin_per_address, "ORGSYNC_SIGNIN_PER_ADDRESS", "N";
}
