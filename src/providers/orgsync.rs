//! The `orgsync` provider: a server org on an orgsync instance, over its REST API.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Digest;
use tokio::sync::Mutex;

use super::policy::PolicyResolver;
use super::{
    ChangesQuery, Provider, ProviderConfig, ProviderError, RemoteChanges, RemoteRecord, Written,
};
use crate::domain::error::Code;
use crate::domain::metadata::EntityDef;
use crate::domain::names::OrgName;
use crate::wire::auth::TokenResponse;
use crate::wire::batch::{BatchOperation, BatchResponse, BatchResult};
use crate::wire::compare::{DigestRange, DigestRequest, Digests};
use crate::wire::explain::{Explained, ServerExplainRequest};

/// Tokens of the process, by sign-in (base, org, user and a hash of the password).
static TOKENS: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, (String, Instant)>>,
> = std::sync::LazyLock::new(Default::default);

/// Renew a token this long before it expires.
const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// The most of an error body read from the server (its problem is small).
const ERROR_BODY_LIMIT: usize = 64 * 1024;

pub struct OrgsyncProvider {
    client: reqwest::Client,
    /// `host:port` of the server, for errors that must not say more.
    target: String,
    /// Largest answer read from the server; a larger one is refused, not buffered.
    response_limit: usize,
    /// `{scheme}://{host}{prefix}` — what comes before `/rest/v1`.
    base: String,
    org: String,
    user_name: String,
    password: String,
    token: Mutex<Option<(String, Instant)>>,
}

/// Splits `{base}/rest/v1/orgs/{org}` into the base and the org; a clear sentence otherwise.
pub fn parse_url(url: &str) -> Result<(String, String), String> {
    let parsed = Url::parse(url.trim()).map_err(|e| format!("Url '{url}' is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "Url '{url}' must be an http or https URL with a host"
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return Err(format!(
            "Url '{url}' must not carry a query, fragment or credentials"
        ));
    }
    let path = parsed.path().trim_end_matches('/');
    let (prefix, org) = path
        .rsplit_once("/rest/v1/orgs/")
        .ok_or_else(|| format!("Url '{url}' must end in /rest/v1/orgs/{{server_org}}"))?;
    let org = OrgName::parse(org).map_err(|e| format!("Url '{url}': {e}"))?;
    let mut base = format!(
        "{}://{}",
        parsed.scheme(),
        parsed.host_str().unwrap_or_default()
    );
    if let Some(port) = parsed.port() {
        base.push_str(&format!(":{port}"));
    }
    base.push_str(prefix);
    Ok((base, org.to_string()))
}

#[derive(Default, Deserialize)]
struct Problem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    detail: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    entities: Vec<EntityDef>,
}

impl OrgsyncProvider {
    pub fn new(config: ProviderConfig) -> Result<Self, ProviderError> {
        let (base, org) = parse_url(&config.url).map_err(|message| ProviderError::Setup {
            code: Code::InvalidUrl,
            message,
        })?;
        let url = Url::parse(&base).map_err(|e| ProviderError::Setup {
            code: Code::InvalidUrl,
            message: e.to_string(),
        })?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let target = format!("{host}:{}", url.port_or_known_default().unwrap_or(0));
        // A host written as an address is never resolved, so the policy is checked here; a
        // name is checked on every address it resolves to, when the client connects.
        let literal = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>();
        if let Ok(ip) = literal {
            if !config.policy.permits(&host, ip) {
                return Err(cannot_reach(&target));
            }
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("orgsync/", env!("CARGO_PKG_VERSION")))
            // Credentials go only to the host they were given for: no redirect is followed.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(std::sync::Arc::new(PolicyResolver(config.policy.clone())))
            // Below the 5 s a server keeps an idle connection: a connection about to be closed
            // by the server is never reused.
            .pool_idle_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| ProviderError::Unavailable(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            client,
            target,
            response_limit: config.response_limit,
            base,
            org,
            user_name: config.user_name,
            password: config.password,
            token: Mutex::new(None),
        })
    }

    fn org_url(&self, rest: &str) -> String {
        format!("{}/rest/v1/orgs/{}{rest}", self.base, self.org)
    }

    /// The key of this provider's sign-in in the process-wide token cache.
    fn cache_key(&self) -> String {
        let secret = hex::encode(sha2::Sha256::digest(self.password.as_bytes()));
        format!("{}\n{}\n{}\n{secret}", self.base, self.org, self.user_name)
    }

    /// A valid token, fetched or renewed when it is missing or about to expire. Tokens are
    /// shared by every job of the process that signs in the same way, so a sync does not pay
    /// for a sign-in (a password hash check on the server) each time.
    async fn token(&self, renew: bool) -> Result<String, ProviderError> {
        let mut held = self.token.lock().await;
        if !renew {
            if let Some((token, until)) = held.as_ref() {
                if Instant::now() < *until {
                    return Ok(token.clone());
                }
            }
            let shared = TOKENS
                .lock()
                .ok()
                .and_then(|t| t.get(&self.cache_key()).cloned());
            if let Some((token, until)) = shared.filter(|(_, until)| Instant::now() < *until) {
                *held = Some((token.clone(), until));
                return Ok(token);
            }
        }
        let body = json!({"Org": self.org, "UserName": self.user_name, "Password": self.password});
        let res = self
            .client
            .post(format!("{}/rest/v1/auth/token", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let token: TokenResponse = match res.status() {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(ProviderError::Auth(format!(
                    "user '{}' of org '{}' could not sign in",
                    self.user_name, self.org
                )))
            }
            s if s.is_success() => self.read_json(res).await?,
            _ => return Err(self.failure(res).await),
        };
        let lifetime = Duration::from_secs(token.expires_in).saturating_sub(RENEW_MARGIN);
        let until = Instant::now() + lifetime;
        *held = Some((token.access_token.clone(), until));
        if let Ok(mut shared) = TOKENS.lock() {
            shared.insert(self.cache_key(), (token.access_token.clone(), until));
        }
        Ok(token.access_token)
    }

    /// Sends an authenticated request; a 401 renews the token once.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: String,
        body: Option<&[u8]>,
        idempotency_key: Option<&str>,
    ) -> Result<T, ProviderError> {
        for attempt in 0..2 {
            let token = self.token(attempt > 0).await?;
            let mut req = self.client.request(method.clone(), &url).bearer_auth(token);
            if let Some(b) = body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.to_vec());
            }
            if let Some(k) = idempotency_key {
                req = req.header("Idempotency-Key", k);
            }
            let res = req.send().await.map_err(|e| self.unreachable(&e))?;
            if res.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                continue;
            }
            if !res.status().is_success() {
                return Err(self.failure(res).await);
            }
            return self.read_json(res).await;
        }
        Err(ProviderError::Auth(
            "the server refused a fresh token".to_owned(),
        ))
    }
}

/// A record id as one path segment (ids may hold `:` or `@`).
fn encode_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The one error of a server that cannot be reached, whatever the reason: refused by the
/// backend policy, nothing listening, a timeout, a broken connection. It tells no more, so a
/// connection's `Url` cannot be used to probe which ports answer.
fn cannot_reach(target: &str) -> ProviderError {
    ProviderError::Unavailable(format!("the server at {target} cannot be reached"))
}

/// Reads a body of at most `limit` bytes; `None` when it is larger.
async fn read_limited(
    mut res: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

impl OrgsyncProvider {
    fn unreachable(&self, e: &reqwest::Error) -> ProviderError {
        // The cause is for the operator's log, not for the job.
        tracing::info!(target = %self.target, error = %e, "a backend call failed");
        cannot_reach(&self.target)
    }

    /// The answer's JSON, read up to the configured limit.
    async fn read_json<T: DeserializeOwned>(
        &self,
        res: reqwest::Response,
    ) -> Result<T, ProviderError> {
        let body = read_limited(res, self.response_limit)
            .await
            .map_err(|e| self.unreachable(&e))?
            .ok_or_else(|| ProviderError::Rejected {
                code: Code::ServerRejected.as_str().to_owned(),
                message: format!(
                    "the server's answer is larger than {} bytes (ORGSYNC_PROVIDER_RESPONSE_LIMIT)",
                    self.response_limit
                ),
            })?;
        serde_json::from_slice(&body).map_err(|e| ProviderError::Rejected {
            code: Code::ServerRejected.as_str().to_owned(),
            message: format!("the server's answer is not what orgsync expects: {e}"),
        })
    }

    async fn failure(&self, res: reqwest::Response) -> ProviderError {
        let status = res.status();
        if status.is_redirection() {
            let to = res
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| Url::parse(l).ok())
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_else(|| "another address".to_owned());
            return ProviderError::Rejected {
                code: Code::ServerRedirected.as_str().to_owned(),
                message: format!(
                    "the server answered with a redirect to {to}; credentials are never sent on \
                     to another address: correct the connection's Url"
                ),
            };
        }
        // Only a problem the server meant is read: the text of anything else stays out of
        // the job.
        let is_problem = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .is_some_and(|c| c.starts_with("application/problem+json"));
        let problem = if is_problem {
            read_limited(res, ERROR_BODY_LIMIT)
                .await
                .ok()
                .flatten()
                .and_then(|b| serde_json::from_slice::<Problem>(&b).ok())
        } else {
            None
        };
        failure(status, problem.unwrap_or_default())
    }
}

fn failure(status: StatusCode, problem: Problem) -> ProviderError {
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => ProviderError::Auth(problem.detail),
        StatusCode::NOT_FOUND => ProviderError::NotFound {
            code: problem.code,
            message: problem.detail,
        },
        StatusCode::GONE if problem.code == "token_expired" => ProviderError::TokenExpired,
        s if s.is_server_error()
            || s == StatusCode::TOO_MANY_REQUESTS
            || s == StatusCode::REQUEST_TIMEOUT =>
        {
            ProviderError::Unavailable(format!("the server answered {s}"))
        }
        s => ProviderError::Rejected {
            code: if problem.code.is_empty() {
                Code::ServerRejected.as_str().to_owned()
            } else {
                problem.code
            },
            message: if problem.detail.is_empty() {
                format!("status {s}")
            } else {
                problem.detail
            },
        },
    }
}

#[async_trait]
impl Provider for OrgsyncProvider {
    async fn authenticate(&self) -> Result<(), ProviderError> {
        self.token(true).await.map(|_| ())
    }

    async fn count(&self, entity: &str) -> Result<Option<u64>, ProviderError> {
        let usage: Value = self
            .call(Method::GET, self.org_url("/usage"), None, None)
            .await?;
        Ok(usage["Entities"]
            .as_array()
            .and_then(|all| all.iter().find(|e| e["Entity"] == entity))
            .map_or(Some(0), |e| e["Records"].as_u64()))
    }

    async fn metadata(&self) -> Result<Vec<EntityDef>, ProviderError> {
        let meta: Metadata = self
            .call(Method::GET, self.org_url("/metadata"), None, None)
            .await?;
        Ok(meta.entities)
    }

    async fn changes(&self, query: &ChangesQuery) -> Result<RemoteChanges, ProviderError> {
        let mut body = json!({"Limit": query.limit});
        if let Some(since) = &query.since {
            body["Since"] = json!(since);
        }
        if !query.entities.is_empty() {
            body["Entities"] = json!(query.entities);
        }
        if let Some(filters) = &query.filters {
            body["SyncFilters"] = filters.clone();
        }
        let body = serde_json::to_vec(&body).unwrap_or_default();
        self.call(Method::POST, self.org_url("/changes"), Some(&body), None)
            .await
    }

    async fn explain(
        &self,
        entity: &str,
        filters: Option<&serde_json::Value>,
        ids: &[String],
    ) -> Result<Explained, ProviderError> {
        let body = ServerExplainRequest {
            entity: entity.to_owned(),
            sync_filters: filters.cloned(),
            record_ids: ids.to_vec(),
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        self.call(Method::POST, self.org_url("/explain"), Some(&body), None)
            .await
    }

    async fn digests(
        &self,
        entity: &str,
        filters: Option<&serde_json::Value>,
        ranges: &[DigestRange],
    ) -> Result<Digests, ProviderError> {
        let body = DigestRequest {
            entity: entity.to_owned(),
            sync_filters: filters.cloned(),
            ranges: ranges.to_vec(),
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        self.call(Method::POST, self.org_url("/digests"), Some(&body), None)
            .await
    }

    async fn record(&self, entity: &str, id: &str) -> Result<Option<RemoteRecord>, ProviderError> {
        let url = self.org_url(&format!(
            "/entities/{entity}/records/{}",
            encode_segment(id)
        ));
        match self.call(Method::GET, url, None, None).await {
            Ok(record) => Ok(Some(record)),
            Err(ProviderError::NotFound { code, .. }) if code == "record_not_found" => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn write_batch(
        &self,
        idempotency_key: &str,
        operations: &[BatchOperation],
    ) -> Result<Vec<Written>, ProviderError> {
        // Written straight from the operations (no JSON tree of a large batch in between).
        #[derive(serde::Serialize)]
        struct Body<'a> {
            #[serde(rename = "Operations")]
            operations: &'a [BatchOperation],
        }
        let body = serde_json::to_vec(&Body { operations }).unwrap_or_default();
        let res: BatchResponse = self
            .call(
                Method::POST,
                self.org_url("/batch"),
                Some(&body),
                Some(idempotency_key),
            )
            .await?;
        let mut results = res.results.into_iter();
        Ok(operations
            .iter()
            .map(|_| results.next().map_or_else(no_result, written))
            .collect())
    }
}

/// What one batch result says, without its HTTP status.
fn written(result: BatchResult) -> Written {
    match result.status {
        200..=299 => Written::Applied {
            version: result.version,
        },
        412 => Written::Stale,
        status => {
            let (code, message) = result.error.map_or_else(
                || {
                    (
                        Code::ServerRejected.as_str().to_owned(),
                        format!("status {status}"),
                    )
                },
                |p| (p.code, p.detail),
            );
            if status == 404 {
                Written::NotFound { code, message }
            } else {
                Written::Refused { code, message }
            }
        }
    }
}

fn no_result() -> Written {
    Written::Refused {
        code: Code::ServerRejected.as_str().to_owned(),
        message: "the server gave no result for this operation".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn urls_split_into_base_and_org() {
        assert_eq!(
            parse_url("http://127.0.0.1:8081/rest/v1/orgs/contoso"),
            Ok(("http://127.0.0.1:8081".to_owned(), "contoso".to_owned()))
        );
        assert_eq!(
            parse_url("https://sync.example/tenant/rest/v1/orgs/contoso/"),
            Ok((
                "https://sync.example/tenant".to_owned(),
                "contoso".to_owned()
            ))
        );
        for bad in [
            "ftp://x/rest/v1/orgs/a1",
            "http:///rest/v1/orgs/ok",
            "http://x/orgs/contoso",
            "http://x/rest/v1/orgs/Bad",
            "not a url",
            "http://u:p@x/rest/v1/orgs/ab",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
