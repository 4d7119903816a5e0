//! The test harness: a real orgsync on a loopback port, on a fresh SQLite file or a fresh
//! PostgreSQL schema, driven over HTTP.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::HttpServer;
use diesel::{Connection, RunQueryDsl};
use orgsync::auth::Role;
use orgsync::config::Settings;
use orgsync::{create_app, AppState};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Runs a test body once on SQLite and once on PostgreSQL (when `ORGSYNC_TEST_POSTGRES_URL`
/// is set; `.ci/run` sets it).
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($app: $crate::support::TestApp) $body
            #[actix_web::test]
            async fn sqlite() {
                run($crate::support::TestApp::sqlite().await).await
            }
            #[actix_web::test]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::postgres().await {
                    run(app).await
                }
            }
        })*
    };
}

pub struct TestApp {
    pub state: AppState,
    /// The database URL, for another process to share.
    pub db_url: String,
    pub base: String,
    client: reqwest::Client,
    provider: String,
    _dir: tempfile::TempDir,
    pg_schema: Option<(String, String)>,
}

impl TestApp {
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("orgsync.db").display());
        Self::start(&url, dir, None, |_| {}).await
    }

    /// None (and a note on stderr) when no PostgreSQL is configured for tests.
    pub async fn postgres() -> Option<Self> {
        Self::postgres_with(|_| {}).await
    }

    pub async fn postgres_with(tune: impl FnOnce(&mut Settings)) -> Option<Self> {
        let Ok(base) = std::env::var("ORGSYNC_TEST_POSTGRES_URL") else {
            eprintln!("ORGSYNC_TEST_POSTGRES_URL is not set: the PostgreSQL run is skipped");
            return None;
        };
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = diesel::pg::PgConnection::establish(&base).unwrap();
        diesel::sql_query(format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .unwrap();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{schema}");
        let dir = tempfile::tempdir().unwrap();
        Some(Self::start(&url, dir, Some((base, schema)), tune).await)
    }

    pub async fn sqlite_with(tune: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("orgsync.db").display());
        Self::start(&url, dir, None, tune).await
    }

    /// A SQLite instance listening on a chosen port (to stand in for a server that was down).
    pub async fn sqlite_at(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("orgsync.db").display());
        Self::start_on(
            &url,
            dir,
            None,
            |_| {},
            TcpListener::bind(("127.0.0.1", port)).unwrap(),
        )
        .await
    }

    async fn start(
        url: &str,
        dir: tempfile::TempDir,
        pg_schema: Option<(String, String)>,
        tune: impl FnOnce(&mut Settings),
    ) -> Self {
        Self::start_on(
            url,
            dir,
            pg_schema,
            tune,
            TcpListener::bind("127.0.0.1:0").unwrap(),
        )
        .await
    }

    async fn start_on(
        url: &str,
        dir: tempfile::TempDir,
        pg_schema: Option<(String, String)>,
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
            .issue(
                "test-provider",
                Role::Provider,
                None,
                Duration::from_secs(3600),
            )
            .unwrap();
        Self {
            state,
            db_url: url.to_owned(),
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            provider,
            _dir: dir,
            pg_schema,
        }
    }

    /// A token of `role` bound to `org`.
    pub fn token(&self, role: Role, org: &str) -> String {
        self.state
            .jwt
            .issue("test-user", role, Some(org), Duration::from_secs(3600))
            .unwrap()
    }

    pub fn req(&self, method: Method, path: &str) -> Req {
        Req {
            inner: self.client.request(method, format!("{}{path}", self.base)),
        }
        .bearer(&self.provider)
    }
    pub fn get(&self, path: &str) -> Req {
        self.req(Method::GET, path)
    }
    pub fn post(&self, path: &str) -> Req {
        self.req(Method::POST, path)
    }
    pub fn put(&self, path: &str) -> Req {
        self.req(Method::PUT, path)
    }
    pub fn patch(&self, path: &str) -> Req {
        self.req(Method::PATCH, path)
    }
    pub fn delete(&self, path: &str) -> Req {
        self.req(Method::DELETE, path)
    }

    /// Creates an org (as the provider) and gives its name.
    pub async fn org(&self, name: &str) -> String {
        self.post("/rest/v1/orgs")
            .json(&json!({"Name": name}))
            .send()
            .await
            .expect(StatusCode::CREATED);
        name.to_owned()
    }

    /// Defines `entity` in `org` from a definition body.
    pub async fn entity(&self, org: &str, entity: &str, definition: Value) {
        let res = self
            .put(&format!("/rest/v1/orgs/{org}/metadata/entities/{entity}"))
            .json(&definition)
            .send()
            .await;
        assert!(
            res.status.is_success(),
            "defining {entity}: {} {}",
            res.status,
            res.text()
        );
    }

    /// An org with the `account` and `contact` entities of [`account_definition`].
    pub async fn crm_org(&self, name: &str) -> String {
        let org = self.org(name).await;
        self.entity(&org, "account", account_definition()).await;
        self.entity(&org, "contact", contact_definition()).await;
        org
    }

    pub async fn create_record(&self, org: &str, entity: &str, attributes: Value) -> Value {
        self.post(&format!("/rest/v1/orgs/{org}/entities/{entity}/records"))
            .json(&json!({"Attributes": attributes}))
            .send()
            .await
            .expect(StatusCode::CREATED)
            .json()
    }

    /// Polls a job until it reaches one of `statuses` (panics after `secs` seconds) and gives it.
    pub async fn wait_job(&self, id: &str, statuses: &[&str], secs: u64) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let job = self
                .get(&format!("/rest/v1/jobs/{id}"))
                .send()
                .await
                .expect(StatusCode::OK)
                .json();
            if statuses.iter().any(|s| job["Status"] == *s) {
                return job;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "job never reached {statuses:?}: {job}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The job's log entries.
    pub async fn job_log(&self, id: &str) -> Vec<Value> {
        let log = self
            .get(&format!("/rest/v1/jobs/{id}/log?Limit=1000"))
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        log["Entries"].as_array().unwrap().clone()
    }

    /// Every change of `org` from scratch (or since `since`), following `Next` to the end.
    pub async fn all_changes(
        &self,
        org: &str,
        since: Option<&str>,
        extra: Value,
    ) -> (Vec<Value>, String) {
        let mut token = since.map(str::to_owned);
        let mut out = Vec::new();
        loop {
            let mut body = extra.clone();
            if let Some(t) = &token {
                body["Since"] = json!(t);
            }
            let page = self
                .post(&format!("/rest/v1/orgs/{org}/changes"))
                .json(&body)
                .send()
                .await
                .expect(StatusCode::OK)
                .json();
            out.extend(page["Changes"].as_array().unwrap().iter().cloned());
            token = Some(page["Next"].as_str().unwrap().to_owned());
            if !page["More"].as_bool().unwrap() {
                return (out, token.unwrap_or_default());
            }
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some((base, schema)) = &self.pg_schema {
            if let Ok(mut conn) = diesel::pg::PgConnection::establish(base) {
                let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut conn);
            }
        }
    }
}

pub fn account_definition() -> Value {
    json!({
        "DisplayName": "Account",
        "PrimaryName": "name",
        "Attributes": [
            {"Name": "name", "Type": "String", "Required": true, "MaxLength": 160},
            {"Name": "emailaddress1", "Type": "String", "MaxLength": 100},
            {"Name": "description", "Type": "Memo"},
            {"Name": "numberofemployees", "Type": "Integer"},
            {"Name": "revenue", "Type": "Money"},
            {"Name": "creditonhold", "Type": "Boolean"},
            {"Name": "lastcontacted", "Type": "DateTime"},
            {"Name": "founded", "Type": "Date"},
            {"Name": "externalid", "Type": "Uniqueidentifier"},
            {"Name": "statecode", "Type": "Picklist", "Options": [{"Value": 0, "Label": "Active"}, {"Value": 1, "Label": "Inactive"}]},
            {"Name": "industrycode", "Type": "Picklist", "Options": [{"Value": 1}, {"Value": 7}, {"Value": 9}]}
        ]
    })
}

pub fn contact_definition() -> Value {
    json!({
        "PrimaryName": "fullname",
        "Attributes": [
            {"Name": "fullname", "Type": "String", "Required": true},
            {"Name": "emailaddress1", "Type": "String"},
            {"Name": "parentcustomerid", "Type": "Lookup", "Target": "account"}
        ]
    })
}

pub struct Req {
    inner: reqwest::RequestBuilder,
}

impl Req {
    /// Uses this bearer token instead of the provider's.
    pub fn bearer(self, token: &str) -> Self {
        self.auth(&format!("Bearer {token}"))
    }
    pub fn header(self, name: &str, value: &str) -> Self {
        Self {
            inner: self.inner.header(name, value),
        }
    }
    /// Replaces the Authorization header.
    pub fn auth(self, value: &str) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("authorization"),
            HeaderValue::from_str(value).unwrap(),
        );
        Self {
            inner: self.inner.headers(headers),
        }
    }
    pub fn json(self, body: &Value) -> Self {
        Self {
            inner: self.inner.json(body),
        }
    }
    pub fn xml(self, body: &str) -> Self {
        Self {
            inner: self
                .inner
                .header("Content-Type", "application/xml")
                .body(body.to_owned()),
        }
    }
    pub fn raw(self, content_type: &str, body: impl Into<reqwest::Body>) -> Self {
        Self {
            inner: self.inner.header("Content-Type", content_type).body(body),
        }
    }
    pub fn accept_xml(self) -> Self {
        self.header("Accept", "application/xml")
    }
    pub async fn send(self) -> Resp {
        let res = self.inner.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.bytes().await.unwrap().to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    /// Asserts the status (printing the body when it differs).
    pub fn expect(self, status: StatusCode) -> Self {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or_default()
    }
    /// Asserts a problem with this status and code, in JSON, and gives it.
    pub fn problem(self, status: StatusCode, code: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "body: {}",
            self.text()
        );
        let p = self.json();
        assert_eq!(p["code"], code, "problem: {p}");
        assert_eq!(p["status"], status.as_u16());
        p
    }
}

pub const SERVER_USER: &str = "sync@contoso.example";
pub const SERVER_PASSWORD: &str = "server-Pa55word!";

/// Makes `server` a server org `contoso` with a sync user and the CRM entities; gives its Url.
pub async fn server_org(server: &TestApp) -> String {
    let org = server.crm_org("contoso").await;
    server
        .post(&format!("/rest/v1/orgs/{org}/users"))
        .json(&json!({"UserName": SERVER_USER, "Password": SERVER_PASSWORD, "Role": "org_user"}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    format!("{}/rest/v1/orgs/{org}", server.base)
}

/// A free loopback port (nothing listens on it once this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An `orgsync serve` process of the real binary, killed (SIGKILL) when dropped.
pub struct Process {
    child: std::process::Child,
    pub base: String,
    pub stderr_path: std::path::PathBuf,
}

impl Process {
    /// Starts the binary with `env` on a free port and waits until it answers.
    pub async fn start(env: &[(&str, String)], log_dir: &std::path::Path) -> Self {
        let port = free_port();
        let stderr_path = log_dir.join(format!("orgsync-{port}.log"));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_orgsync"));
        cmd.arg("serve")
            .current_dir(log_dir)
            .env("ORGSYNC_BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(stderr);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut process = Self {
            child: cmd.spawn().unwrap(),
            base: format!("http://127.0.0.1:{port}"),
            stderr_path,
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            let health = client.get(format!("{}/healthz", process.base)).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return process;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        process.kill();
        panic!("orgsync did not start; its log: {}", process.log());
    }

    /// SIGKILL: no chance to clean up, as when a machine dies.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that accepts connections and never answers: a server stuck mid-request.
pub fn tarpit(port: u16) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 1024];
                let _ = s.set_nonblocking(true);
                let _ = std::io::Read::read(&mut s, &mut buf);
                held.push(s);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    stop
}

/// Every live record of `entity` in `org`: id → its server version and attributes (an
/// order-independent digest). A server record's version is its `Version`; a client record's
/// is the server version it holds (`ServerVersion`), so both sides' digests compare.
pub async fn digest(
    app: &TestApp,
    org: &str,
    entity: &str,
) -> std::collections::BTreeMap<String, Value> {
    let mut out = std::collections::BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/rest/v1/orgs/{org}/entities/{entity}/records?Limit=1000");
        if let Some(c) = &cursor {
            path.push_str(&format!("&Cursor={c}"));
        }
        let page = app.get(&path).send().await.expect(StatusCode::OK).json();
        for r in page["Records"].as_array().unwrap() {
            out.insert(
                r["Id"].as_str().unwrap().to_owned(),
                r["Attributes"].clone(),
            );
        }
        match page.get("Next").and_then(Value::as_str) {
            Some(n) => cursor = Some(n.to_owned()),
            None => return out,
        }
    }
}

/// Writes `ops` to `org` in batches of 1000.
pub async fn write_batch(app: &TestApp, org: &str, ops: Vec<Value>) {
    for chunk in ops.chunks(1000) {
        let res = app
            .post(&format!("/rest/v1/orgs/{org}/batch"))
            .json(&json!({"Operations": chunk}))
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        for r in res["Results"].as_array().unwrap() {
            assert!(r["Status"].as_i64().unwrap() < 300, "{r}");
        }
    }
}

/// An account upsert with a natural key and a state.
pub fn account_op(id: &str, name: &str, state: i64) -> Value {
    json!({"Op": "Upsert", "Entity": "account", "Id": id, "Attributes": {
        "name": name, "emailaddress1": format!("{id}@example.com"), "statecode": state, "numberofemployees": 10
    }})
}

/// Connects `client_org` of `app` to the server org at `url` (JSON body `setup` merged in) and
/// waits for the Connect job.
pub async fn connect(app: &TestApp, client_org: &str, url: &str, setup: Value) {
    let mut body = json!({"SyncSetup": {"ProviderID": "orgsync", "Url": url, "UserName": SERVER_USER, "Password": SERVER_PASSWORD}});
    for (k, v) in setup.as_object().unwrap() {
        body["SyncSetup"][k] = v.clone();
    }
    let accepted = app
        .post(&format!("/rest/v1/sync/{client_org}/ConnectAsync"))
        .json(&body)
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let job = app
        .wait_job(
            accepted["JobId"].as_str().unwrap(),
            &["Completed", "Failed"],
            30,
        )
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
}

/// Runs a sync of `org` with `request` and waits for it to end; gives the job.
pub async fn sync(app: &TestApp, org: &str, request: Value) -> Value {
    let res = app
        .post(&format!("/rest/v1/sync/{org}/SyncAsync"))
        .json(&request)
        .send()
        .await;
    assert!(
        res.status == StatusCode::ACCEPTED || res.status == StatusCode::OK,
        "{}",
        res.text()
    );
    let id = res.json()["JobId"].as_str().unwrap().to_owned();
    app.wait_job(
        &id,
        &["Completed", "CompletedWithErrors", "Failed", "Cancelled"],
        120,
    )
    .await
}

/// How a [`Proxy`] treats the connections it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    Forward,
    /// Refuses: closes every connection at once (a server that is down).
    Down,
    /// Passes the request on, lets the server answer, and never gives the answer back.
    DropResponse,
}

/// A TCP proxy in front of a server, to take it down or lose its answers.
pub struct Proxy {
    pub port: u16,
    mode: std::sync::Arc<std::sync::Mutex<ProxyMode>>,
}

impl Proxy {
    pub fn start(target: &str) -> Self {
        let target = target.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = std::sync::Arc::new(std::sync::Mutex::new(ProxyMode::Forward));
        let shared = mode.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let now = *shared.lock().unwrap();
                let target = target.clone();
                std::thread::spawn(move || relay(client, &target, now));
            }
        });
        Self { port, mode }
    }

    pub fn set(&self, mode: ProxyMode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// The Url of the server org `org` through this proxy.
    pub fn org_url(&self, org: &str) -> String {
        format!("http://127.0.0.1:{}/rest/v1/orgs/{org}", self.port)
    }
}

fn relay(client: std::net::TcpStream, target: &str, mode: ProxyMode) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    if mode == ProxyMode::Down {
        return;
    }
    let Ok(server) = std::net::TcpStream::connect(target) else {
        return;
    };
    // Only the answers to batch writes are lost; signing in goes through.
    let lose = std::sync::Arc::new(AtomicBool::new(false));
    let flag = lose.clone();
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        loop {
            match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let chunk = &buf[..n];
                    if mode == ProxyMode::DropResponse && chunk.windows(6).any(|w| w == b"/batch") {
                        flag.store(true, Ordering::SeqCst);
                    }
                    if s_write.write_all(chunk).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = s_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    let mut buf = [0u8; 16384];
    loop {
        match s_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) if lose.load(Ordering::SeqCst) => break,
            Ok(n) => {
                if c_write.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = c_write.shutdown(std::net::Shutdown::Both);
}
