//! The one HTTP client of the kit: raw requests ([`Req`] → [`Resp`]) with a bearer token, and
//! typed shortcuts for what tests and the benchmark do again and again.

use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::fixtures::{account_definition, contact_definition, SYNC_PASSWORD, SYNC_USER};

/// How long an idle pooled connection is kept. actix-web closes a keep-alive connection after
/// 5 s without a request; a pooled connection older than that may be closed under the request
/// that reuses it (`IncompleteMessage`). Below 5 s, the pool drops it first.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(2);

/// The default timeout of one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The statuses a job ends in.
/// The statuses a job stops in: finished, or `Held` by the delete guard until approved.
pub const FINISHED: &[&str] = &[
    "Completed",
    "CompletedWithErrors",
    "Failed",
    "Cancelled",
    "Held",
];

/// An HTTP client of one orgsync, sending a bearer token with every request.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    /// A client of the orgsync at `base` (`http://host:port`) with this bearer token.
    pub fn new(base: &str, token: &str) -> Self {
        Self::with_timeout(base, token, REQUEST_TIMEOUT)
    }

    /// The same with another timeout per request.
    pub fn with_timeout(base: &str, token: &str, timeout: Duration) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .build()
                .unwrap(),
            base: base.to_owned(),
            token: token.to_owned(),
        }
    }

    /// A client with the same token of the orgsync reached at `base` (through a proxy).
    pub fn through(&self, base: &str) -> Self {
        Self::new(base, &self.token)
    }

    /// `http://host:port`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn req(&self, method: Method, path: &str) -> Req {
        Req {
            inner: self.http.request(method, format!("{}{path}", self.base)),
        }
        .bearer(&self.token)
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

    /// Creates an org and gives its name.
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

    /// An org with the CRM entities `account` and `contact`.
    pub async fn crm_org(&self, name: &str) -> String {
        let org = self.org(name).await;
        self.entity(&org, "account", account_definition()).await;
        self.entity(&org, "contact", contact_definition()).await;
        org
    }

    /// Creates one record; gives it as the API answered.
    pub async fn create_record(&self, org: &str, entity: &str, attributes: Value) -> Value {
        self.post(&format!("/rest/v1/orgs/{org}/entities/{entity}/records"))
            .json(&json!({"Attributes": attributes}))
            .send()
            .await
            .expect(StatusCode::CREATED)
            .json()
    }

    /// One batch request to `org` (a JSON body: `{"Operations": […]}`) whose every operation
    /// must succeed; gives its results.
    pub async fn batch(&self, org: &str, body: impl Into<reqwest::Body>) -> Vec<Value> {
        let mut res = self
            .post(&format!("/rest/v1/orgs/{org}/batch"))
            .raw("application/json", body)
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        let Value::Array(results) = res["Results"].take() else {
            panic!("batch: no Results in {res}")
        };
        for r in &results {
            assert!(r["Status"].as_i64().unwrap() < 300, "{r}");
        }
        results
    }

    /// Writes `ops` to `org` in batches of 1000; every operation must succeed.
    pub async fn write_batch(&self, org: &str, ops: Vec<Value>) {
        for chunk in ops.chunks(1000) {
            self.batch(org, json!({"Operations": chunk}).to_string())
                .await;
        }
    }

    /// Asks to connect `client_org` to the server org at `url` with the sync user (the
    /// members of `setup` are merged into the `SyncSetup`); gives the queued job's id.
    pub async fn connect_async(&self, client_org: &str, url: &str, setup: Value) -> String {
        let mut body = json!({"SyncSetup": {"ProviderID": "orgsync", "Url": url, "UserName": SYNC_USER, "Password": SYNC_PASSWORD}});
        for (k, v) in setup.as_object().expect("the setup is an object") {
            body["SyncSetup"][k] = v.clone();
        }
        let accepted = self
            .post(&format!("/rest/v1/sync/{client_org}/ConnectAsync"))
            .json(&body)
            .send()
            .await
            .expect(StatusCode::ACCEPTED)
            .json();
        accepted["JobId"].as_str().unwrap().to_owned()
    }

    /// [`Self::connect_async`], then waits for the Connect job, which must complete.
    pub async fn connect(&self, client_org: &str, url: &str, setup: Value) {
        let id = self.connect_async(client_org, url, setup).await;
        let job = self.wait_job(&id, &["Completed", "Failed"], 30).await;
        assert_eq!(job["Status"], "Completed", "{job}");
    }

    /// Queues a sync of `org` with `request`, which must be a new job (202); gives its id.
    pub async fn start_sync(&self, org: &str, request: Value) -> String {
        let accepted = self
            .post(&format!("/rest/v1/sync/{org}/SyncAsync"))
            .json(&request)
            .send()
            .await
            .expect(StatusCode::ACCEPTED)
            .json();
        accepted["JobId"].as_str().unwrap().to_owned()
    }

    /// Runs a sync of `org` with `request` (a new job or the one already queued) and waits
    /// for it to end; gives the job.
    pub async fn sync(&self, org: &str, request: Value) -> Value {
        let res = self
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
        self.wait_job(&id, FINISHED, 120).await
    }

    /// Starts a snapshot of `org` (which must be a new job, 202) and waits for it to end;
    /// gives the job.
    pub async fn snapshot(&self, org: &str, request: Value) -> Value {
        let accepted = self
            .post(&format!("/rest/v1/sync/{org}/snapshots"))
            .json(&request)
            .send()
            .await
            .expect(StatusCode::ACCEPTED)
            .json();
        let id = accepted["JobId"].as_str().unwrap().to_owned();
        self.wait_job(&id, FINISHED, 120).await
    }

    /// Approves a job the delete guard held and gives it once it stopped again.
    pub async fn approve(&self, job: &Value) -> Value {
        let id = job["JobId"].as_str().unwrap().to_owned();
        self.post(&format!("/rest/v1/jobs/{id}/Approve"))
            .send()
            .await
            .expect(StatusCode::OK);
        self.wait_job(&id, FINISHED, 120).await
    }

    /// The job as the API shows it.
    pub async fn job(&self, id: &str) -> Value {
        self.get(&format!("/rest/v1/jobs/{id}"))
            .send()
            .await
            .expect(StatusCode::OK)
            .json()
    }

    /// Polls a job until it reaches one of `statuses` (panics after `secs` seconds) and gives
    /// it. Polls every 10 ms for the first 2 s (short jobs), then every 100 ms (long ones).
    pub async fn wait_job(&self, id: &str, statuses: &[&str], secs: u64) -> Value {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(secs);
        loop {
            let job = self.job(id).await;
            if statuses.iter().any(|s| job["Status"] == *s) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job never reached {statuses:?}: {job}"
            );
            let pause = if start.elapsed() < Duration::from_secs(2) {
                10
            } else {
                100
            };
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    /// Polls a job (every 5 ms, for at most 60 s) until its progress shows records done in
    /// `phase`, and gives it: the moment to interrupt a job part-way.
    pub async fn wait_progress(&self, id: &str, phase: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let job = self.job(id).await;
            if job["Progress"]["Phase"] == phase && job["Progress"]["Done"].as_i64() > Some(0) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "nothing was done in {phase}: {job}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The job's log entries (the first 1000).
    pub async fn job_log(&self, id: &str) -> Vec<Value> {
        let log = self
            .get(&format!("/rest/v1/jobs/{id}/log?Limit=1000"))
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        log["Entries"].as_array().unwrap().clone()
    }

    /// Every change of `org` from scratch (or since `since`), following `Next` to the end; the
    /// members of `extra` go into every request. Gives the changes and the last token.
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

    /// How many live records `org` holds (its `/usage`).
    pub async fn usage_count(&self, org: &str) -> i64 {
        self.get(&format!("/rest/v1/orgs/{org}/usage"))
            .send()
            .await
            .expect(StatusCode::OK)
            .json()["Records"]
            .as_i64()
            .unwrap()
    }

    /// The value of one sample of the Prometheus metrics, e.g.
    /// `orgsync_transactions{status="Pending"}` (0 when absent).
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = self
            .get("/metrics")
            .send()
            .await
            .expect(StatusCode::OK)
            .text();
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

/// A request being built.
pub struct Req {
    inner: reqwest::RequestBuilder,
}

impl Req {
    /// Uses this bearer token instead of the client's.
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
    /// Sends the request and reads the whole answer; panics when there is none.
    pub async fn send(self) -> Resp {
        self.try_send().await.unwrap()
    }
    /// Sends the request and reads the whole answer.
    pub async fn try_send(self) -> Result<Resp, reqwest::Error> {
        let res = self.inner.send().await?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.bytes().await?.to_vec();
        Ok(Resp {
            status,
            headers,
            body,
        })
    }
}

/// A whole answer.
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
