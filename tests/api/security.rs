//! Where credentials may go, what a failure tells, and who a token still speaks for: stored
//! passwords stay bound to their server, backends are reached only where the policy permits,
//! tokens die with their org or user, sign-ins are throttled, and `MaxTries` holds.

use std::sync::Arc;
use std::time::Duration;

use orgsync::auth::Role;
use orgsync::config::Settings;
use orgsync::domain::policy::BackendPolicy;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::client::FINISHED;
use crate::testkit::fixtures::{server_org, SYNC_PASSWORD, SYNC_USER};
use crate::testkit::launch::TestApp;
use crate::testkit::net::{free_port, tarpit, FakeServer};

/// Connects `client` to a fresh server org on a server of its own; gives the server and the Url.
async fn connected(app: &TestApp, client: &str) -> (TestApp, String) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    app.connect(client, &url, json!({})).await;
    (server, url)
}

/// Asks to connect `org` to `url` and waits for the Connect job to end; gives the job.
async fn connect_job(app: &TestApp, org: &str, url: &str) -> Value {
    let id = app.connect_async(org, url, json!({})).await;
    app.wait_job(&id, FINISHED, 60).await
}

async fn an_org_admin_cannot_send_the_stored_password_elsewhere(app: TestApp) {
    let (server, url) = connected(&app, "client").await;
    let attacker = FakeServer::respond("503 Service Unavailable", &[], b"");
    let elsewhere = attacker.org_url("contoso");
    let admin = app.token(Role::OrgAdmin, "client").await;
    let patch = |body: Value| {
        app.patch("/rest/v1/sync/client/connection")
            .bearer(&admin)
            .json(&body)
    };
    // Pointing the connection elsewhere needs the password again: the stored one never follows.
    let p = patch(json!({"Url": elsewhere}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "password_required");
    assert_eq!(p["field"], "Password", "{p}");
    // Even with a password of its own, where credentials go is not an org admin's to say.
    patch(json!({"Url": elsewhere, "Password": "the-admins-own-guess"}))
        .send()
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    patch(json!({"Url": elsewhere, "UserName": "attacker"}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "password_required");
    // Another user name would send the stored password for another account.
    let p = patch(json!({"UserName": "someone-else@contoso.example"}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "password_required");
    assert_eq!(p["field"], "Password", "{p}");
    // In XML too.
    app.patch("/rest/v1/sync/client/connection")
        .bearer(&admin)
        .xml(&format!(
            "<ConnectionPatch><Url>{elsewhere}</Url></ConnectionPatch>"
        ))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "password_required");
    // The rule is the provider's as well: a new Url comes with its password.
    app.patch("/rest/v1/sync/client/connection")
        .json(&json!({"Url": elsewhere}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "password_required");

    // A sync the admin starts goes to the real server, which it reaches with the stored password.
    server
        .create_record("contoso", "account", json!({"name": "From the server"}))
        .await;
    let id = app
        .post("/rest/v1/sync/client/SyncAsync")
        .bearer(&admin)
        .json(&json!({}))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json()["JobId"]
        .as_str()
        .unwrap()
        .to_owned();
    let job = app.wait_job(&id, FINISHED, 60).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        app.usage_count("client").await,
        1,
        "the sync reached the server"
    );
    let connection = app
        .get("/rest/v1/sync/client/connection")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(connection["Url"], url.as_str());
    assert_eq!(connection["UserName"], SYNC_USER);
    assert_eq!(
        attacker.requests(),
        0,
        "something reached the attacker: {}",
        String::from_utf8_lossy(&attacker.received())
    );
    assert!(!attacker.received_contains(SYNC_PASSWORD));
}

async fn a_redirect_is_never_followed_with_credentials(app: TestApp) {
    let redirecting = FakeServer::respond(
        "307 Temporary Redirect",
        &[("Location", "http://attacker.invalid:1/rest/v1/auth/token")],
        b"",
    );
    let job = connect_job(&app, "client", &redirecting.org_url("contoso")).await;
    assert_eq!(job["Status"], "Failed", "{job}");
    assert_eq!(
        job["Tries"], 1,
        "a redirect is not worth another try: {job}"
    );
    assert_eq!(job["Error"]["Code"], "server_redirected", "{job}");
    let message = job["Error"]["Message"].as_str().unwrap();
    assert!(message.contains("attacker.invalid"), "{message}");
    assert_eq!(
        redirecting.requests(),
        1,
        "one sign-in, never repeated elsewhere"
    );
}

/// Backends fail fast in these tests: a short timeout, two tries.
fn quick(s: &mut Settings) {
    s.provider_timeout = Duration::from_secs(1);
    s.job_max_tries = 2;
}

/// The one message of a server that cannot be reached, with its `host:port` as `<target>`.
const UNREACHABLE: &str = "the server is unavailable: the server at <target> cannot be reached";

/// The server's successful sign-ins.
const SIGN_INS: &str =
    r#"orgsync_http_requests_total{method="POST",route="/rest/v1/auth/token",status="200"}"#;

/// The job's error message with its `host:port` put as `<target>`, after checking it names it.
fn shape_of(job: &Value, target: &str) -> String {
    assert_eq!(job["Status"], "Failed", "{job}");
    assert_eq!(job["Error"]["Code"], "server_unavailable", "{job}");
    let message = job["Error"]["Message"].as_str().unwrap();
    assert!(message.contains(target), "{target} not in {message}");
    let lower = message.to_lowercase();
    for word in [
        "refused",
        "timed out",
        "timeout",
        "connect",
        "policy",
        "permitted",
        "denied",
        "dns",
        "error sending",
        "os error",
    ] {
        assert!(!lower.contains(word), "'{word}' tells too much: {message}");
    }
    message.replace(target, "<target>")
}

async fn unreachable_servers_all_fail_the_same_way(app: TestApp) {
    let closed = free_port();
    let stuck = free_port();
    let stop = tarpit(stuck);
    let cases = [
        ("metadata", "169.254.169.254:80".to_owned()),
        ("link-local", "[fe80::1]:80".to_owned()),
        ("closed", format!("127.0.0.1:{closed}")),
        ("stuck", format!("127.0.0.1:{stuck}")),
    ];
    let mut shapes = Vec::new();
    for (org, target) in &cases {
        let url = format!("http://{target}/rest/v1/orgs/contoso");
        let job = connect_job(&app, org, &url).await;
        let shape = shape_of(&job, target);
        assert_eq!(shape, UNREACHABLE);
        // What the job's log and the connection show says no more.
        for entry in app.job_log(job["JobId"].as_str().unwrap()).await {
            let text = entry["Message"].as_str().unwrap_or_default().to_lowercase();
            assert!(
                !text.contains("refused") && !text.contains("timed out"),
                "{entry}"
            );
        }
        let connection = app
            .get(&format!("/rest/v1/sync/{org}/connection"))
            .send()
            .await
            .json();
        let last = connection["LastError"].as_str().unwrap_or_default();
        assert!(last.contains("cannot be reached"), "{connection}");
        shapes.push(shape);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(
        shapes.windows(2).all(|w| w[0] == w[1]),
        "the messages differ: {shapes:?}"
    );
}

/// A deployment that keeps connections off loopback.
fn deny_loopback(s: &mut Settings) {
    quick(s);
    s.backend_policy = Arc::new(BackendPolicy::parse("", "127.0.0.0/8, ::1").unwrap());
}

async fn a_deployment_can_deny_loopback(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    // The server answers: an app without that policy connects to it.
    let control = TestApp::sqlite().await;
    control.connect("client", &url, json!({})).await;
    let signed_in = server.metric(SIGN_INS).await;
    assert!(signed_in >= 1.0, "the control signed in");

    let port = url
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let by_address = connect_job(&app, "by-address", &url).await;
    let by_name = connect_job(&app, "by-name", &url.replace("127.0.0.1", "localhost")).await;
    let a = shape_of(&by_address, &format!("127.0.0.1:{port}"));
    let b = shape_of(&by_name, &format!("localhost:{port}"));
    assert_eq!(a, b, "a name is checked on the addresses it resolves to");
    assert_eq!(
        a, UNREACHABLE,
        "the form of any server that cannot be reached"
    );
    // Nothing reached the server: it answered no sign-in since the control's.
    assert_eq!(
        server.metric(SIGN_INS).await,
        signed_in,
        "the server was reached"
    );
}

async fn a_servers_error_text_stays_out_of_the_job(app: TestApp) {
    let bodies: [&[u8]; 2] = [
        b"internal secret text",
        br#"{"code": "secret_code", "detail": "internal secret text"}"#,
    ];
    for (i, body) in bodies.iter().enumerate() {
        let server =
            FakeServer::respond("400 Bad Request", &[("Content-Type", "text/plain")], body);
        let org = format!("client-{i}");
        let job = connect_job(&app, &org, &server.org_url("contoso")).await;
        assert_eq!(job["Status"], "Failed", "{job}");
        assert_eq!(job["Error"]["Code"], "server_rejected", "{job}");
        assert_eq!(job["Tries"], 1, "{job}");
        assert!(!job.to_string().contains("internal secret"), "{job}");
        assert!(!job.to_string().contains("secret_code"), "{job}");
        let log = app.job_log(job["JobId"].as_str().unwrap()).await;
        assert!(!format!("{log:?}").contains("internal secret"), "{log:?}");
        let connection = app
            .get(&format!("/rest/v1/sync/{org}/connection"))
            .send()
            .await
            .text();
        assert!(!connection.contains("internal secret"), "{connection}");
    }
}

both_backends!(
    an_org_admin_cannot_send_the_stored_password_elsewhere,
    a_redirect_is_never_followed_with_credentials,
    a_servers_error_text_stays_out_of_the_job,
    tokens_die_with_their_org,
    tokens_die_with_their_user,
    failed_sign_ins_are_throttled
);
both_backends_with!(quick; unreachable_servers_all_fail_the_same_way);
both_backends_with!(deny_loopback; a_deployment_can_deny_loopback);

/// Signs in as `user` of `org` with `password`.
async fn sign_in(
    app: &TestApp,
    org: &str,
    user: &str,
    password: &str,
) -> crate::testkit::client::Resp {
    app.post("/rest/v1/auth/token")
        .json(&json!({"Org": org, "UserName": user, "Password": password}))
        .send()
        .await
}

/// The access token of a sign-in that must succeed.
async fn access_token(app: &TestApp, org: &str, user: &str, password: &str) -> String {
    sign_in(app, org, user, password)
        .await
        .expect(StatusCode::OK)
        .json()["AccessToken"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn add_user(app: &TestApp, org: &str, user: &str, password: &str, role: &str) {
    app.post(&format!("/rest/v1/orgs/{org}/users"))
        .json(&json!({"UserName": user, "Password": password, "Role": role}))
        .send()
        .await
        .expect(StatusCode::CREATED);
}

async fn tokens_die_with_their_org(app: TestApp) {
    app.crm_org("ghost").await;
    let admin = app.token(Role::OrgAdmin, "ghost").await;
    app.get("/rest/v1/orgs/ghost")
        .bearer(&admin)
        .send()
        .await
        .expect(StatusCode::OK);
    app.delete("/rest/v1/orgs/ghost")
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get("/rest/v1/orgs/ghost")
        .bearer(&admin)
        .send()
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    // A namesake is another org: the old token is nothing to it.
    app.crm_org("ghost").await;
    for res in [
        app.get("/rest/v1/orgs/ghost").bearer(&admin).send().await,
        app.get("/rest/v1/orgs/ghost/entities/account/records")
            .bearer(&admin)
            .send()
            .await,
        app.post("/rest/v1/orgs/ghost/users")
            .bearer(&admin)
            .json(
                &json!({"UserName": "backdoor", "Password": "backdoor-Pa55", "Role": "org_admin"}),
            )
            .send()
            .await,
    ] {
        assert_eq!(
            res.header("www-authenticate").as_deref(),
            Some("Bearer"),
            "{}",
            res.text()
        );
        res.problem(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    sign_in(&app, "ghost", "backdoor", "backdoor-Pa55")
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // A user of the new org signs in and is let in.
    add_user(&app, "ghost", "ada", "ada-Pa55word", "org_admin").await;
    let token = access_token(&app, "ghost", "ada", "ada-Pa55word").await;
    app.get("/rest/v1/orgs/ghost")
        .bearer(&token)
        .send()
        .await
        .expect(StatusCode::OK);
}

async fn tokens_die_with_their_user(app: TestApp) {
    use diesel::prelude::*;
    use orgsync::db::schema::users;
    let org = app.crm_org("contoso").await;
    add_user(&app, &org, "ada", "ada-Pa55word", "org_user").await;
    let old = access_token(&app, &org, "ada", "ada-Pa55word").await;
    let records = format!("/rest/v1/orgs/{org}/entities/account/records");
    app.get(&records)
        .bearer(&old)
        .send()
        .await
        .expect(StatusCode::OK);
    let deleted = {
        let mut conn = app.state.db.get().unwrap();
        diesel::delete(users::table.filter(users::user_name.eq("ada")))
            .execute(&mut *conn)
            .unwrap()
    };
    assert_eq!(deleted, 1);
    app.get(&records)
        .bearer(&old)
        .send()
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    // The same name again is a new user: the old token stays dead, a fresh sign-in works.
    add_user(&app, &org, "ada", "ada-Pa55word", "org_user").await;
    app.get(&records)
        .bearer(&old)
        .send()
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    let fresh = access_token(&app, &org, "ada", "ada-Pa55word").await;
    app.get(&records)
        .bearer(&fresh)
        .send()
        .await
        .expect(StatusCode::OK);
}

async fn failed_sign_ins_are_throttled(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let per_user = app.state.settings.signin_per_user;
    let per_address = app.state.settings.signin_per_address;
    assert_eq!((per_user, per_address), (10, 30), "the defaults");
    add_user(&app, &org, "ada", "ada-Pa55word", "org_user").await;
    add_user(&app, &org, "grace", "grace-Pa55word", "org_user").await;
    for _ in 0..per_user {
        sign_in(&app, &org, "ada", "a-wrong-guess")
            .await
            .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // Over the limit even the right password waits: it is not even checked.
    for password in ["ada-Pa55word", "a-wrong-guess"] {
        let res = sign_in(&app, &org, "ada", password).await;
        let retry: u64 = res
            .header("retry-after")
            .expect("a Retry-After header")
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "Retry-After: {retry}");
        let p = res.problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
        assert!(
            p["detail"].as_str().unwrap().contains(&retry.to_string()),
            "{p}"
        );
    }
    // Another user from the same address signs in, again and again: successes never count.
    for _ in 0..40 {
        sign_in(&app, &org, "grace", "grace-Pa55word")
            .await
            .expect(StatusCode::OK);
    }
    // The address has its own limit, over all the users tried from it.
    let left = per_address - per_user;
    for i in 0..left {
        sign_in(&app, &org, &format!("nobody-{i}"), "a-wrong-guess")
            .await
            .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    sign_in(&app, &org, "grace", "grace-Pa55word")
        .await
        .problem(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
}

/// Long backoffs, so that a job waits for its next try long enough to be edited.
fn long_backoff(s: &mut Settings) {
    s.job_backoff = Duration::from_secs(600);
}

/// Makes the job look like one whose process died during its last try: in process, every
/// try used, its lease lapsed.
fn died_in_last_try(app: &TestApp, id: &str, max_tries: i64) {
    use diesel::prelude::*;
    use orgsync::db::schema::jobs;
    let mut conn = app.state.db.get().unwrap();
    let lapsed = orgsync::db::now_micros() - 60_000_000;
    let n = diesel::update(jobs::table.find(id).filter(jobs::status.eq("Queued")))
        .set((
            jobs::status.eq("InProcess"),
            jobs::tries.eq(i32::try_from(max_tries).unwrap()),
            jobs::lease_owner.eq(Some("a-worker-that-died")),
            jobs::lease_until.eq(Some(lapsed)),
        ))
        .execute(&mut *conn)
        .unwrap();
    assert_eq!(n, 1, "the job was waiting for its next try");
}

async fn max_tries_holds_when_a_worker_dies(app: TestApp) {
    let url = format!("http://127.0.0.1:{}/rest/v1/orgs/contoso", free_port());
    let id = app.connect_async("client", &url, json!({})).await;
    // The first try fails; the job waits (long) for its next one.
    let job = loop {
        let job = app.job(&id).await;
        if job["Status"] == "Queued" && job["Tries"] == 1 {
            break job;
        }
        assert_ne!(job["Status"], "Failed", "{job}");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    };
    let max = job["MaxTries"].as_i64().unwrap();
    died_in_last_try(&app, &id, max);
    // A worker finds it lapsed with no try left: it fails it instead of running it again.
    let job = app.wait_job(&id, FINISHED, 30).await;
    assert_eq!(job["Status"], "Failed", "{job}");
    assert_eq!(job["Error"]["Code"], "worker_lost", "{job}");
    assert_eq!(job["Tries"], max, "{job}");
    // As after any Connect that failed for good, its connection says so, with the reason.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let connection = app
            .get("/rest/v1/sync/client/connection")
            .send()
            .await
            .json();
        if connection["State"] == "Failed" {
            assert!(
                connection["LastError"]
                    .as_str()
                    .unwrap()
                    .contains("worker_lost"),
                "{connection}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{connection}");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let starts = app
        .job_log(&id)
        .await
        .into_iter()
        .filter(|e| e["Action"] == "Start")
        .count();
    assert_eq!(starts, 1, "no try ran past the last one");

    // Run grants one more try, and only one: Tries never passes MaxTries.
    let run = app
        .post(&format!("/rest/v1/jobs/{id}/Run"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(run["Status"], "Queued");
    let job = app.wait_job(&id, FINISHED, 30).await;
    assert_eq!(job["Status"], "Failed", "{job}");
    assert_eq!(job["Error"]["Code"], "server_unavailable", "{job}");
    assert_eq!(job["Tries"], max, "{job}");
    let starts = app
        .job_log(&id)
        .await
        .into_iter()
        .filter(|e| e["Action"] == "Start")
        .count();
    assert_eq!(starts, 2, "Run ran it once more");
}

both_backends_with!(long_backoff; max_tries_holds_when_a_worker_dies);
