//! One typed `Settings`, read once at start: defaults, then `.env`, then the environment.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rand::RngCore;

use crate::domain::policy::BackendPolicy;

pub const MIN_SECRET_BYTES: usize = 32;

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Postgres(String),
    /// The SQLite file (or `:memory:`).
    Sqlite(PathBuf),
}

impl Backend {
    /// `postgres://…` / `postgresql://…` or `sqlite://path` / `sqlite:path` / a bare path.
    pub fn from_url(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() || path.contains("://") {
            return Err(format!(
                "database URL '{url}' is neither postgres://… nor sqlite://PATH"
            ));
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

/// Bytes that must never be printed or logged.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "a secret must be at least {MIN_SECRET_BYTES} bytes long, this one has {}",
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    /// Where generated secrets (and the SQLite file, by default) live.
    pub data_dir: PathBuf,
    pub jwt_secret: Secret,
    /// Encrypts connection credentials at rest.
    pub secret_key: Secret,
    /// Background job workers of this process (0: this process runs no jobs).
    pub workers: usize,
    /// HTTP worker threads (one per core when unset).
    pub http_workers: Option<usize>,
    pub db_pool_size: u32,
    /// How long a claimed job stays claimed without a heartbeat before another worker may take it.
    pub job_lease: Duration,
    /// How often an idle worker looks for work.
    pub job_poll: Duration,
    pub job_max_tries: i32,
    /// The first retry delay; each further one doubles, up to an hour.
    pub job_backoff: Duration,
    /// Limit of every call to a backend.
    pub provider_timeout: Duration,
    /// Changes read and applied per batch (one transaction each) by a sync.
    pub sync_batch: u32,
    /// Whether this process enqueues the periodic syncs of `SyncInterval`.
    pub scheduler: bool,
    pub tombstone_retention: Duration,
    /// How long finished jobs (with their logs) and settled client transactions are kept.
    pub job_retention: Duration,
    pub log_format: LogFormat,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Lifetime of tokens issued by `POST /rest/v1/auth/token`.
    pub token_ttl: Duration,
    /// Which addresses a connection's backend may be reached at (`ORGSYNC_BACKEND_ALLOW`,
    /// `ORGSYNC_BACKEND_DENY`).
    pub backend_policy: Arc<BackendPolicy>,
    /// Largest answer read from a backend, in bytes.
    pub provider_response_limit: usize,
    /// A page of records or changes ends early, with `Next`, once it holds this many bytes.
    pub page_bytes: usize,
    /// Largest record (its attributes as JSON), in bytes.
    pub record_max_bytes: usize,
    /// Failed sign-ins a minute per user name, and per address, before attempts wait.
    pub signin_per_user: u32,
    pub signin_per_address: u32,
}

/// The defaults of the limits, shared by `from_env` and `with_database`.
const PAGE_BYTES: usize = 4 * 1024 * 1024;
const RECORD_MAX_BYTES: usize = 1024 * 1024;
const PROVIDER_RESPONSE_LIMIT: usize = 64 * 1024 * 1024;
const SIGNIN_PER_USER: u32 = 10;
const SIGNIN_PER_ADDRESS: u32 = 30;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/orgsync.db";

impl Settings {
    /// Reads the environment (after `.env`, which `main` loads). Fails with a sentence naming
    /// the variable at fault.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let database_url =
            var("ORGSYNC_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let data_dir = data_dir_of(var("ORGSYNC_DATA_DIR"), &database_url);
        let jwt_secret = secret_from(
            var("ORGSYNC_JWT_SECRET"),
            "ORGSYNC_JWT_SECRET",
            &data_dir,
            "jwt_secret",
        )?;
        let secret_key = secret_from(
            var("ORGSYNC_SECRET_KEY"),
            "ORGSYNC_SECRET_KEY",
            &data_dir,
            "secret_key",
        )?;
        let parse_num = |name: &str, default: usize| -> Result<usize, String> {
            var(name).map_or(Ok(default), |v| {
                v.trim()
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number, not '{v}'"))
            })
        };
        let parse_duration = |name: &str, default: Duration| -> Result<Duration, String> {
            var(name).map_or(Ok(default), |v| {
                parse_duration(&v).map_err(|e| format!("{name}: {e}"))
            })
        };
        let log_format = match var("ORGSYNC_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(format!(
                    "ORGSYNC_LOG_FORMAT must be json or text, not '{other}'"
                ))
            }
        };
        Ok(Self {
            database_url,
            bind: var("ORGSYNC_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            data_dir,
            jwt_secret,
            secret_key,
            workers: parse_num("ORGSYNC_WORKERS", 2)?,
            http_workers: var("ORGSYNC_HTTP_WORKERS")
                .map(|_| parse_num("ORGSYNC_HTTP_WORKERS", 2))
                .transpose()?,
            job_lease: parse_duration("ORGSYNC_JOB_LEASE", Duration::from_secs(30))?,
            job_poll: parse_duration("ORGSYNC_JOB_POLL", Duration::from_secs(1))?,
            job_max_tries: i32::try_from(parse_num("ORGSYNC_JOB_MAX_TRIES", 5)?)
                .unwrap_or(5)
                .max(1),
            job_backoff: parse_duration("ORGSYNC_JOB_BACKOFF", Duration::from_secs(5))?,
            provider_timeout: parse_duration("ORGSYNC_PROVIDER_TIMEOUT", Duration::from_secs(30))?,
            sync_batch: u32::try_from(parse_num("ORGSYNC_SYNC_BATCH", 2000)?)
                .unwrap_or(2000)
                .clamp(1, 10_000),
            scheduler: match var("ORGSYNC_SCHEDULER").as_deref() {
                None | Some("on" | "true" | "1") => true,
                Some("off" | "false" | "0") => false,
                Some(other) => {
                    return Err(format!(
                        "ORGSYNC_SCHEDULER must be on or off, not '{other}'"
                    ))
                }
            },
            db_pool_size: u32::try_from(parse_num("ORGSYNC_DB_POOL_SIZE", 16)?).unwrap_or(16),
            job_retention: parse_duration(
                "ORGSYNC_JOB_RETENTION",
                Duration::from_secs(30 * 86_400),
            )?,
            tombstone_retention: parse_duration(
                "ORGSYNC_TOMBSTONE_RETENTION",
                Duration::from_secs(30 * 86_400),
            )?,
            log_format,
            body_limit: parse_num("ORGSYNC_BODY_LIMIT", 16 * 1024 * 1024)?,
            token_ttl: parse_duration("ORGSYNC_TOKEN_TTL", Duration::from_secs(3600))?,
            backend_policy: Arc::new(
                BackendPolicy::parse(
                    &var("ORGSYNC_BACKEND_ALLOW").unwrap_or_default(),
                    &var("ORGSYNC_BACKEND_DENY").unwrap_or_default(),
                )
                .map_err(|e| format!("ORGSYNC_BACKEND_ALLOW / ORGSYNC_BACKEND_DENY: {e}"))?,
            ),
            provider_response_limit: parse_num(
                "ORGSYNC_PROVIDER_RESPONSE_LIMIT",
                PROVIDER_RESPONSE_LIMIT,
            )?
            .max(64 * 1024),
            page_bytes: parse_num("ORGSYNC_PAGE_BYTES", PAGE_BYTES)?.max(1024),
            record_max_bytes: parse_num("ORGSYNC_RECORD_MAX_BYTES", RECORD_MAX_BYTES)?.max(1024),
            signin_per_user: u32::try_from(parse_num(
                "ORGSYNC_SIGNIN_PER_USER",
                SIGNIN_PER_USER as usize,
            )?)
            .unwrap_or(u32::MAX),
            signin_per_address: u32::try_from(parse_num(
                "ORGSYNC_SIGNIN_PER_ADDRESS",
                SIGNIN_PER_ADDRESS as usize,
            )?)
            .unwrap_or(u32::MAX),
        })
    }

    /// Settings for a given database and data folder with every other value at its default;
    /// secrets are generated in the data folder.
    pub fn with_database(database_url: &str, data_dir: &Path) -> Result<Self, String> {
        Ok(Self {
            database_url: database_url.to_owned(),
            bind: "127.0.0.1:0".to_owned(),
            data_dir: data_dir.to_owned(),
            jwt_secret: secret_from(None, "ORGSYNC_JWT_SECRET", data_dir, "jwt_secret")?,
            secret_key: secret_from(None, "ORGSYNC_SECRET_KEY", data_dir, "secret_key")?,
            workers: 2,
            http_workers: None,
            db_pool_size: 16,
            job_lease: Duration::from_secs(30),
            job_poll: Duration::from_secs(1),
            job_max_tries: 5,
            job_backoff: Duration::from_secs(5),
            provider_timeout: Duration::from_secs(30),
            sync_batch: 2000,
            scheduler: true,
            tombstone_retention: Duration::from_secs(30 * 86_400),
            job_retention: Duration::from_secs(30 * 86_400),
            log_format: LogFormat::Text,
            body_limit: 16 * 1024 * 1024,
            token_ttl: Duration::from_secs(3600),
            backend_policy: Arc::new(BackendPolicy::default()),
            provider_response_limit: PROVIDER_RESPONSE_LIMIT,
            page_bytes: PAGE_BYTES,
            record_max_bytes: RECORD_MAX_BYTES,
            signin_per_user: SIGNIN_PER_USER,
            signin_per_address: SIGNIN_PER_ADDRESS,
        })
    }
}

/// `30d`, `12h`, `90s`, `PT1H`/`P30D` (ISO 8601) or a number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    if let Some(iso) = t.strip_prefix('P') {
        return parse_iso_duration(iso)
            .ok_or_else(|| format!("'{text}' is not an ISO 8601 duration"));
    }
    humantime::parse_duration(t).map_err(|e| format!("'{text}' is not a duration: {e}"))
}

/// The part of an ISO 8601 duration after `P`: `nD`, `TnHnMnS` and their combinations.
fn parse_iso_duration(rest: &str) -> Option<Duration> {
    let mut secs: u64 = 0;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in rest.chars() {
        match c {
            'T' if !in_time && number.is_empty() => in_time = true,
            '0'..='9' => number.push(c),
            unit => {
                let n: u64 = number.parse().ok()?;
                number.clear();
                let factor = match (in_time, unit) {
                    (false, 'W') => 604_800,
                    (false, 'D') => 86_400,
                    (true, 'H') => 3_600,
                    (true, 'M') => 60,
                    (true, 'S') => 1,
                    _ => return None,
                };
                secs = secs.checked_add(n.checked_mul(factor)?)?;
                any = true;
            }
        }
    }
    (any && number.is_empty()).then(|| Duration::from_secs(secs))
}

/// The file the token secret of the environment's settings is kept in; None when
/// `ORGSYNC_JWT_SECRET` gives it.
pub fn jwt_secret_file() -> Option<PathBuf> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if var("ORGSYNC_JWT_SECRET").is_some() {
        return None;
    }
    let database_url =
        var("ORGSYNC_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
    Some(data_dir_of(var("ORGSYNC_DATA_DIR"), &database_url).join("jwt_secret"))
}

/// `ORGSYNC_DATA_DIR`, or by default the SQLite file's folder (`./data` for PostgreSQL).
fn data_dir_of(configured: Option<String>, database_url: &str) -> PathBuf {
    configured.map_or_else(|| default_data_dir(database_url), PathBuf::from)
}

fn default_data_dir(database_url: &str) -> PathBuf {
    match Backend::from_url(database_url) {
        Ok(Backend::Sqlite(path)) => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        _ => PathBuf::from("./data"),
    }
}

/// The secret from the environment, or the one kept in the data folder, created once (0600).
fn secret_from(
    value: Option<String>,
    var: &str,
    data_dir: &Path,
    file: &str,
) -> Result<Secret, String> {
    if let Some(v) = value {
        return Secret::new(v.into_bytes()).map_err(|e| format!("{var}: {e}"));
    }
    let path = data_dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Secret::new(text.trim().as_bytes().to_vec())
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
            let mut bytes = [0u8; 48];
            rand::thread_rng().fill_bytes(&mut bytes);
            let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            write_private(&path, &text)?;
            // Another process may have won the race to create it: the file on disk is the truth.
            let stored =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            Secret::new(stored.trim().as_bytes().to_vec())
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut f) => f
            .write_all(text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_accepted_form() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("PT1H"), Ok(Duration::from_secs(3600)));
        assert_eq!(
            parse_duration("P1DT30M"),
            Ok(Duration::from_secs(86_400 + 1800))
        );
        assert!(parse_duration("PT").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(Secret::new(b"short".to_vec()).is_err());
        assert!(Secret::new(vec![7; 32]).is_ok());
        assert_eq!(
            format!("{:?}", Secret::new(vec![7; 32])),
            "Ok(Secret([redacted]))"
        );
    }

    #[test]
    fn a_generated_secret_is_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first =
            secret_from(None, "X", dir.path(), "jwt_secret").unwrap_or_else(|e| panic!("{e}"));
        let again =
            secret_from(None, "X", dir.path(), "jwt_secret").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.expose(), again.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("jwt_secret"))
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or_default();
            assert_eq!(mode, 0o600);
        }
        assert!(secret_from(
            Some("too short".into()),
            "ORGSYNC_JWT_SECRET",
            dir.path(),
            "x"
        )
        .is_err());
    }
}
