//! Starting orgsync: in this process on a fresh database ([`TestApp`]), or as the real binary
//! in a process of its own ([`Process`]).
//!
//! Every call into orgsync's startup API (settings, app state, the HTTP app, the job workers
//! and scheduler, token minting) is in this file, so that a change of that API is met here.

use std::net::TcpListener;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::HttpServer;
use diesel::{Connection, RunQueryDsl};
use orgsync::auth::{JwtKeys, Role, Subject};
use orgsync::config::{Secret, Settings};
use orgsync::{create_app, AppState};
use reqwest::StatusCode;
use serde_json::json;

use super::client::Client;
use super::fixtures::{JWT_SECRET, SECRET_KEY};
use super::net::free_port;

/// How long the tokens minted here live: longer than any run.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 3600);

/// An orgsync in this process, on a fresh SQLite file or a fresh PostgreSQL schema, on a
/// loopback port, with its job workers and scheduler. It derefs to a [`Client`] of itself
/// holding a provider token.
pub struct TestApp {
    pub state: AppState,
    /// The database URL, for another process to share.
    pub db_url: String,
    client: Client,
    _dir: tempfile::TempDir,
    _schema: Option<PgSchema>,
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(|_| {}).await
    }

    /// On SQLite, with the settings changed by `tune` before the start.
    pub async fn sqlite_with(tune: impl FnOnce(&mut Settings)) -> Self {
        let (dir, url) = sqlite_file();
        Self::start(
            &url,
            dir,
            None,
            tune,
            TcpListener::bind("127.0.0.1:0").unwrap(),
        )
        .await
    }

    /// A SQLite instance listening on a chosen port (to stand in for a server that was down).
    pub async fn sqlite_at(port: u16) -> Self {
        let (dir, url) = sqlite_file();
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        Self::start(&url, dir, None, |_| {}, listener).await
    }

    /// On a fresh schema of `ORGSYNC_TEST_POSTGRES_URL`. The PostgreSQL tests are built as
    /// ignored when it is unset, so one running without it is a mistake, not a skip.
    pub async fn postgres() -> Self {
        Self::postgres_with(|_| {}).await
    }

    pub async fn postgres_with(tune: impl FnOnce(&mut Settings)) -> Self {
        let base = std::env::var("ORGSYNC_TEST_POSTGRES_URL").expect(
            "ORGSYNC_TEST_POSTGRES_URL is unset, yet the tests were built with it: rebuild them",
        );
        let schema = PgSchema::create(&base, "t");
        let url = schema.url();
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        Self::start(&url, dir, Some(schema), tune, listener).await
    }

    async fn start(
        url: &str,
        dir: tempfile::TempDir,
        schema: Option<PgSchema>,
        tune: impl FnOnce(&mut Settings),
        listener: TcpListener,
    ) -> Self {
        let mut settings = Settings::with_database(url, dir.path()).unwrap();
        settings.db_pool_size = 8;
        // Jobs are picked up and retried quickly in tests.
        settings.job_poll = Duration::from_millis(50);
        settings.job_backoff = Duration::from_millis(200);
        settings.job_lease = Duration::from_secs(3);
        settings.provider_timeout = Duration::from_secs(5);
        tune(&mut settings);
        let state = AppState::new(settings).unwrap();
        let addr = listener.local_addr().unwrap();
        let app_state = state.clone();
        let server = HttpServer::new(move || create_app(app_state.clone()))
            .workers(2)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run();
        actix_web::rt::spawn(server);
        orgsync::jobs::worker::spawn_workers(state.engine.clone());
        orgsync::jobs::scheduler::spawn_scheduler(state.engine.clone());
        let provider = state
            .jwt
            .issue(&Subject::provider("test-provider"), TOKEN_TTL)
            .unwrap();
        Self {
            client: Client::new(&format!("http://{addr}"), &provider),
            state,
            db_url: url.to_owned(),
            _dir: dir,
            _schema: schema,
        }
    }

    /// A token of `role` in `org`, as a user of that role gets it: a new user is made for it
    /// and signs in.
    pub async fn token(&self, role: Role, org: &str) -> String {
        let user = format!("{}-{}", role.as_str(), uuid::Uuid::new_v4().simple());
        let password = "test-user-Pa55word!";
        self.post(&format!("/rest/v1/orgs/{org}/users"))
            .json(&json!({"UserName": user, "Password": password, "Role": role.as_str()}))
            .send()
            .await
            .expect(StatusCode::CREATED);
        let token = self
            .post("/rest/v1/auth/token")
            .json(&json!({"Org": org, "UserName": user, "Password": password}))
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        token["AccessToken"].as_str().unwrap().to_owned()
    }

    /// A fresh app on the same kind of database as this one.
    pub async fn another(&self) -> Self {
        if self._schema.is_some() {
            Self::postgres().await
        } else {
            Self::sqlite().await
        }
    }

    /// Purges every tombstone now, whatever its age (a zero retention); gives how many went.
    pub async fn purge_tombstones_now(&self) -> usize {
        let mut state = self.state.clone();
        let mut settings = (*state.settings).clone();
        settings.tombstone_retention = Duration::ZERO;
        state.settings = std::sync::Arc::new(settings);
        orgsync::purge_tombstones(&state).await.unwrap()
    }
}

impl Deref for TestApp {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

fn sqlite_file() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("orgsync.db").display());
    (dir, url)
}

/// Makes an in-process app seal stored credentials with the key of [`Process`]es, so that
/// both read what the other stored.
pub fn seal_with_process_key(settings: &mut Settings) {
    settings.secret_key = Secret::new(SECRET_KEY.as_bytes().to_vec()).unwrap();
}

/// A provider token signed with the JWT secret of [`Process`]es.
pub fn process_provider_token() -> String {
    let keys = JwtKeys::new(&Secret::new(JWT_SECRET.as_bytes().to_vec()).unwrap());
    keys.issue(&Subject::provider("testkit"), TOKEN_TTL)
        .unwrap()
}

/// A fresh PostgreSQL schema, dropped with everything in it when this is dropped.
pub struct PgSchema {
    base: String,
    pub name: String,
}

impl PgSchema {
    /// `{prefix}_{a new uuid}` on the database at `base`.
    pub fn create(base: &str, prefix: &str) -> Self {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::pg::PgConnection::establish(base).unwrap();
        diesel::sql_query(format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .unwrap();
        Self {
            base: base.to_owned(),
            name,
        }
    }

    /// The base URL with this schema as the search path.
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.base, self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        if let Ok(mut conn) = diesel::pg::PgConnection::establish(&self.base) {
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
                .execute(&mut conn);
        }
    }
}

/// How to start a process of the real binary: `orgsync serve` on a database, in a folder
/// (its working and data folder, where its log goes too), with the secrets of
/// [`super::fixtures`] and the settings given with [`Launch::set`]. Nothing of the caller's
/// own `ORGSYNC_*` environment reaches it.
#[derive(Clone)]
pub struct Launch {
    binary: PathBuf,
    database_url: String,
    dir: PathBuf,
    label: String,
    rust_log: String,
    settings: Vec<(String, String)>,
}

impl Launch {
    pub fn new(database_url: &str, dir: &Path) -> Self {
        Self {
            binary: PathBuf::from(env!("CARGO_BIN_EXE_orgsync")),
            database_url: database_url.to_owned(),
            dir: dir.to_owned(),
            label: "orgsync".to_owned(),
            rust_log: "info".to_owned(),
            settings: Vec::new(),
        }
    }

    /// Another binary than the one cargo built.
    pub fn binary(mut self, binary: &Path) -> Self {
        self.binary = binary.to_owned();
        self
    }

    /// Names the process in its log file's name and in failures.
    pub fn label(mut self, label: &str) -> Self {
        self.label = label.to_owned();
        self
    }

    /// Its `RUST_LOG` (`info` unless said).
    pub fn rust_log(mut self, filter: &str) -> Self {
        self.rust_log = filter.to_owned();
        self
    }

    /// One more environment variable, e.g. `ORGSYNC_WORKERS`.
    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.settings.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Starts it on a free port and waits until it answers `/healthz`.
    pub async fn start(&self) -> Process {
        let port = free_port();
        let log_path = self.dir.join(format!("{}-{port}.log", self.label));
        let mut cmd = Command::new(&self.binary);
        cmd.arg("serve").current_dir(&self.dir);
        for (k, _) in std::env::vars() {
            if k.starts_with("ORGSYNC_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("ORGSYNC_DATABASE_URL", &self.database_url)
            .env("ORGSYNC_DATA_DIR", &self.dir)
            .env("ORGSYNC_BIND", format!("127.0.0.1:{port}"))
            .env("ORGSYNC_JWT_SECRET", JWT_SECRET)
            .env("ORGSYNC_SECRET_KEY", SECRET_KEY)
            .env("RUST_LOG", &self.rust_log)
            .envs(self.settings.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap());
        let mut process = Process {
            child: cmd.spawn().expect("starting orgsync"),
            client: Client::with_timeout(
                &format!("http://127.0.0.1:{port}"),
                &process_provider_token(),
                Duration::from_secs(1800),
            ),
            label: self.label.clone(),
            log_path,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let health = process.get("/healthz").try_send().await;
            if health.is_ok_and(|r| r.status.is_success()) {
                return process;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!(
                    "orgsync ({}) exited with {status}; its log:\n{}",
                    process.label,
                    process.log()
                );
            }
            if Instant::now() > deadline {
                process.kill();
                panic!(
                    "orgsync ({}) did not answer; its log:\n{}",
                    process.label,
                    process.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A process of the real binary, killed (SIGKILL) when dropped, a panic included. It derefs
/// to a [`Client`] of it holding a provider token.
pub struct Process {
    child: Child,
    client: Client,
    label: String,
    log_path: PathBuf,
}

impl Process {
    /// SIGKILL: no chance to clean up, as when a machine dies.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote to stderr (its log) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Peak resident set size (VmHWM) in bytes.
    pub fn peak_rss(&self) -> u64 {
        proc_status_kib(self.pid(), "VmHWM") * 1024
    }

    /// Current resident set size (VmRSS) in bytes.
    pub fn rss(&self) -> u64 {
        proc_status_kib(self.pid(), "VmRSS") * 1024
    }

    /// User + system CPU time it used so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        proc_cpu_seconds(self.pid()).unwrap_or(0.0)
    }
}

impl Deref for Process {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// CPU seconds (user + system) of a process, from /proc/<pid>/stat.
pub fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (in parentheses): utime and stime are the 12th and 13th.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
