use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use orgsync::auth::{Claims, Role};
use reqwest::StatusCode;
use serde_json::json;

use crate::testkit::launch::TestApp;

fn claims(
    role: Role,
    org: Option<&str>,
    nbf_offset: i64,
    exp_offset: i64,
    aud: &str,
    iss: &str,
) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        iss: iss.to_owned(),
        aud: aud.to_owned(),
        sub: "someone".to_owned(),
        iat: now,
        nbf: now + nbf_offset,
        exp: now + exp_offset,
        role,
        org: org.map(str::to_owned),
        oid: None,
        uid: None,
    }
}

fn sign(claims: &Claims, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

async fn providers_are_listed_for_any_token(app: TestApp) {
    let org = app.org("contoso").await;
    let list = app
        .get("/rest/v1/providers")
        .bearer(&app.token(Role::OrgUser, &org).await)
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let ids: Vec<&str> = list["Providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ProviderID"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c",
            "3c8e1d5a-6f2b-4a9e-8d7c-1b0a9f8e7d6c"
        ]
    );
    assert_eq!(list["Providers"][0]["Name"], "orgsync");
    let xml = app
        .get("/rest/v1/providers")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(xml.contains("<Providers><Provider><ProviderID>7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c</ProviderID><Name>orgsync</Name>"), "{xml}");
    app.get("/rest/v1/providers")
        .auth("")
        .send()
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

async fn bad_tokens_are_401(app: TestApp) {
    let secret = app.state.settings.jwt_secret.expose().to_vec();
    let cases = [
        (
            "expired",
            sign(
                &claims(Role::Provider, None, -7200, -3600, "orgsync", "orgsync"),
                &secret,
            ),
        ),
        (
            "not yet valid",
            sign(
                &claims(Role::Provider, None, 3600, 7200, "orgsync", "orgsync"),
                &secret,
            ),
        ),
        (
            "wrong audience",
            sign(
                &claims(Role::Provider, None, 0, 3600, "someone-else", "orgsync"),
                &secret,
            ),
        ),
        (
            "wrong issuer",
            sign(
                &claims(Role::Provider, None, 0, 3600, "orgsync", "mallory"),
                &secret,
            ),
        ),
        (
            "wrong key",
            sign(
                &claims(Role::Provider, None, 0, 3600, "orgsync", "orgsync"),
                b"another-secret-of-at-least-32-bytes!!",
            ),
        ),
        (
            "org role without org",
            sign(
                &claims(Role::OrgAdmin, None, 0, 3600, "orgsync", "orgsync"),
                &secret,
            ),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in cases {
        let res = app.get("/rest/v1/orgs").bearer(&token).send().await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            res.text()
        );
        assert_eq!(res.json()["code"], "unauthorized", "{what}");
        assert_eq!(res.header("www-authenticate").as_deref(), Some("Bearer"));
    }
    // alg "none": an unsigned token with the right claims.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body =
        serde_json::to_vec(&claims(Role::Provider, None, 0, 3600, "orgsync", "orgsync")).unwrap();
    let unsigned = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(body)
    );
    app.get("/rest/v1/orgs")
        .bearer(&unsigned)
        .send()
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    // A claim missing: no nbf.
    let mut v =
        serde_json::to_value(claims(Role::Provider, None, 0, 3600, "orgsync", "orgsync")).unwrap();
    v.as_object_mut().unwrap().remove("nbf");
    let no_nbf = encode(
        &Header::new(Algorithm::HS256),
        &v,
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    app.get("/rest/v1/orgs")
        .bearer(&no_nbf)
        .send()
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    app.get("/rest/v1/orgs")
        .auth("Basic YTpi")
        .send()
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
    // And a good one passes.
    let good = sign(
        &claims(Role::Provider, None, 0, 3600, "orgsync", "orgsync"),
        &secret,
    );
    app.get("/rest/v1/orgs")
        .bearer(&good)
        .send()
        .await
        .expect(StatusCode::OK);
}

async fn users_get_tokens_with_their_password(app: TestApp) {
    let org = app.org("contoso").await;
    let user =
        json!({"UserName": "sync@contoso.example", "Password": "s3cret-pass", "Role": "org_admin"});
    let created = app
        .post(&format!("/rest/v1/orgs/{org}/users"))
        .json(&user)
        .send()
        .await
        .expect(StatusCode::CREATED)
        .json();
    assert_eq!(created["UserName"], "sync@contoso.example");
    assert!(created.get("Password").is_none());
    let token = app
        .post("/rest/v1/auth/token")
        .json(&json!({"Org": "contoso", "UserName": "sync@contoso.example", "Password": "s3cret-pass"}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(token["TokenType"], "Bearer");
    assert_eq!(token["ExpiresIn"], 3600);
    let bearer = token["AccessToken"].as_str().unwrap();
    app.get("/rest/v1/orgs/contoso")
        .bearer(bearer)
        .send()
        .await
        .expect(StatusCode::OK);
    // XML in and out.
    let xml = app
        .post("/rest/v1/auth/token")
        .xml("<TokenRequest><Org>contoso</Org><UserName>sync@contoso.example</UserName><Password>s3cret-pass</Password></TokenRequest>")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK);
    assert!(
        xml.text().contains("<TokenType>Bearer</TokenType>"),
        "{}",
        xml.text()
    );
    // The password grant names an org's user as org/user.
    let granted = app
        .post("/rest/v1/auth/token")
        .raw(
            "application/x-www-form-urlencoded",
            "grant_type=password&username=contoso%2Fsync%40contoso.example&password=s3cret-pass",
        )
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    app.get("/rest/v1/orgs/contoso")
        .bearer(granted["access_token"].as_str().unwrap())
        .send()
        .await
        .expect(StatusCode::OK);
    // Wrong password, unknown user, unknown org: the same 401.
    for (o, u, p) in [
        ("contoso", "sync@contoso.example", "wrong-pass"),
        ("contoso", "nobody", "s3cret-pass"),
        ("nowhere", "sync@contoso.example", "s3cret-pass"),
    ] {
        app.post("/rest/v1/auth/token")
            .json(&json!({"Org": o, "UserName": u, "Password": p}))
            .send()
            .await
            .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    }
    // Users in XML too.
    let xml_user = "<CreateUser><UserName>reader@contoso.example</UserName><Password>another-pass</Password><Role>org_user</Role></CreateUser>";
    let out = app
        .post(&format!("/rest/v1/orgs/{org}/users"))
        .xml(xml_user)
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::CREATED)
        .text();
    assert!(
        out.contains("<UserName>reader@contoso.example</UserName><Role>org_user</Role>"),
        "{out}"
    );
    // The password is stored hashed.
    let stored: Vec<String> = {
        use diesel::prelude::*;
        use orgsync::db::schema::users;
        let mut conn = app.state.db.get().unwrap();
        users::table
            .select(users::password_hash)
            .load(&mut *conn)
            .unwrap()
    };
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|h| h.starts_with("$argon2id$")
        && !h.contains("s3cret-pass")
        && !h.contains("another-pass")));
    // A duplicate user is 409, a short password 422, and an org_user cannot add users.
    app.post(&format!("/rest/v1/orgs/{org}/users"))
        .json(&user)
        .send()
        .await
        .problem(StatusCode::CONFLICT, "user_exists");
    app.post(&format!("/rest/v1/orgs/{org}/users"))
        .json(&json!({"UserName": "x", "Password": "short", "Role": "org_user"}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "weak_password");
    let member = app.token(Role::OrgUser, "contoso").await;
    app.post(&format!("/rest/v1/orgs/{org}/users"))
        .bearer(&member)
        .json(&json!({"UserName": "y", "Password": "long-enough", "Role": "org_user"}))
        .send()
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
}

async fn an_org_token_never_sees_another_org(app: TestApp) {
    let ours = app.crm_org("ours").await;
    let theirs = app.crm_org("theirs").await;
    let record = app
        .create_record(&theirs, "account", json!({"name": "Secret Corp"}))
        .await;
    let id = record["Id"].as_str().unwrap();
    let token = app.token(Role::OrgAdmin, &ours).await;
    for path in [
        format!("/rest/v1/orgs/{theirs}"),
        format!("/rest/v1/orgs/{theirs}/metadata"),
        format!("/rest/v1/orgs/{theirs}/usage"),
        format!("/rest/v1/orgs/{theirs}/entities/account/records"),
        format!("/rest/v1/orgs/{theirs}/entities/account/records/{id}"),
    ] {
        app.get(&path)
            .bearer(&token)
            .send()
            .await
            .problem(StatusCode::NOT_FOUND, "org_not_found");
    }
    app.post(&format!("/rest/v1/orgs/{theirs}/changes"))
        .bearer(&token)
        .json(&json!({}))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
    app.delete(&format!(
        "/rest/v1/orgs/{theirs}/entities/account/records/{id}"
    ))
    .bearer(&token)
    .send()
    .await
    .problem(StatusCode::NOT_FOUND, "org_not_found");
    // The list shows only its own org.
    let list = app
        .get("/rest/v1/orgs")
        .bearer(&token)
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let names: Vec<&str> = list["Orgs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["ours"]);
    // And the record is untouched.
    app.get(&format!(
        "/rest/v1/orgs/{theirs}/entities/account/records/{id}"
    ))
    .send()
    .await
    .expect(StatusCode::OK);
    // Org roles cannot create orgs.
    app.post("/rest/v1/orgs")
        .bearer(&token)
        .json(&json!({"Name": "mine"}))
        .send()
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
}

/// A provider user signs in without `Org`, gets a provider token, and is named as the one who
/// did what it did (`AddedBy`); an org user of the same name signs in only with its org.
async fn provider_users_sign_in_without_an_org(app: TestApp) {
    {
        let hash = orgsync::auth::password::hash("ada-s-long-password").unwrap();
        let mut conn = app.state.db.get().unwrap();
        orgsync::db::users::create_provider(&mut conn, "ada", &hash, 0).unwrap();
    }
    let sign_in = |password: &'static str| {
        app.post("/rest/v1/auth/token")
            .json(&json!({"UserName": "ada", "Password": password}))
            .send()
    };
    sign_in("wrong-password-here")
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let token = sign_in("ada-s-long-password")
        .await
        .expect(StatusCode::OK)
        .json();
    let bearer = token["AccessToken"].as_str().unwrap().to_owned();
    app.post("/rest/v1/orgs")
        .bearer(&bearer)
        .json(&json!({"Name": "made-by-ada"}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    let accepted = app
        .post("/rest/v1/sync/made-by-ada/ConnectAsync")
        .bearer(&bearer)
        .json(&json!({"SyncSetup": {"ProviderID": "orgsync",
            "Url": "http://127.0.0.1:9/rest/v1/orgs/contoso",
            "UserName": "sync", "Password": "a-long-password"}}))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let job = app.job(accepted["JobId"].as_str().unwrap()).await;
    assert_eq!(job["AddedBy"], "ada", "{job}");
    // With an Org, the name is looked up among that org's users, not the provider's.
    app.post("/rest/v1/auth/token")
        .json(&json!({"Org": "made-by-ada", "UserName": "ada", "Password": "ada-s-long-password"}))
        .send()
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    // The OAuth2 password grant, as Swagger UI's Authorize dialog sends it.
    let form = |body: &str| {
        app.post("/rest/v1/auth/token")
            .raw("application/x-www-form-urlencoded", body.to_owned())
            .send()
    };
    let granted = form("grant_type=password&username=ada&password=ada-s-long-password&scope=")
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(granted["token_type"], "bearer", "{granted}");
    app.get("/rest/v1/orgs")
        .bearer(granted["access_token"].as_str().unwrap())
        .send()
        .await
        .expect(StatusCode::OK);
    form("grant_type=password&username=ada&password=wrong-password-here")
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    form("grant_type=client_credentials&username=ada&password=ada-s-long-password")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    form("username=ada")
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let doc = app.get("/api-docs/openapi.json").send().await.json();
    assert_eq!(
        doc["components"]["securitySchemes"]["signin"]["flows"]["password"]["tokenUrl"],
        "/rest/v1/auth/token"
    );
    // A token of a provider user that is gone is refused.
    {
        use diesel::prelude::*;
        use orgsync::db::schema::provider_users;
        let mut conn = app.state.db.get().unwrap();
        diesel::delete(provider_users::table)
            .execute(&mut *conn)
            .unwrap();
    }
    app.get("/rest/v1/orgs")
        .bearer(&bearer)
        .send()
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthorized");
}

both_backends!(
    provider_users_sign_in_without_an_org,
    providers_are_listed_for_any_token,
    bad_tokens_are_401,
    users_get_tokens_with_their_password,
    an_org_token_never_sees_another_org
);

#[test]
fn a_short_jwt_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .arg("migrate")
        .current_dir(dir.path())
        .env(
            "ORGSYNC_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("o.db").display()),
        )
        .env("ORGSYNC_JWT_SECRET", "only-twenty-bytes-xx")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ORGSYNC_JWT_SECRET") && stderr.contains("at least 32 bytes"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("o.db").exists(),
        "nothing may be created before the settings are valid"
    );
}

#[test]
fn the_cli_prints_a_token_the_service_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "a-secret-that-is-long-enough-for-hs256-signing";
    let url = format!("sqlite://{}", dir.path().join("o.db").display());
    let cli_token = |org: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_orgsync"))
            .args(["token", "--role", "org_admin", "--org", org, "--ttl", "60"])
            .current_dir(dir.path())
            .env("ORGSYNC_JWT_SECRET", secret)
            .env("ORGSYNC_DATABASE_URL", &url)
            .output()
            .unwrap()
    };
    // An org token is bound to the org as it is: none is made for an org that does not exist.
    let none = cli_token("contoso");
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("'contoso' does not exist"));
    let db = orgsync::db::Db::connect(&url, 2).unwrap();
    let org = orgsync::db::orgs::create(
        &mut db.get().unwrap(),
        &orgsync::db::orgs::NewOrg {
            name: "contoso",
            display_name: None,
            registration_info: None,
            quotas: None,
            created_on: 0,
            uid: orgsync::db::new_uid(),
        },
    )
    .unwrap();
    let out = cli_token("contoso");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap();
    let keys = orgsync::auth::JwtKeys::new(
        &orgsync::config::Secret::new(secret.as_bytes().to_vec()).unwrap(),
    );
    let who = keys.verify(token.trim()).unwrap();
    assert_eq!(who.role, Role::OrgAdmin);
    assert_eq!(who.org.map(String::from).as_deref(), Some("contoso"));
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            token.trim().split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        claims["oid"],
        org.uid.as_str(),
        "the token names the org's immutable id"
    );
}

/// `orgsync token` run away from the service's data folder finds no secret: it says so and
/// makes none up (a token signed with a new secret would only meet 401 "bad signature").
#[test]
fn the_cli_makes_no_token_without_the_services_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orgsync"))
        .args(["token", "--role", "provider"])
        .current_dir(dir.path())
        .env_remove("ORGSYNC_JWT_SECRET")
        .env_remove("ORGSYNC_DATA_DIR")
        .env_remove("ORGSYNC_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no token secret at ./data/jwt_secret"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert!(!dir.path().join("data").exists(), "nothing is created");
}

/// `orgsync user add --provider NAME` takes the password from stdin and makes a user who can
/// sign in; a taken name or a short password is refused and says why.
#[test]
fn the_cli_adds_provider_users() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("o.db").display());
    let add = |name: &str, password: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_orgsync"))
            .args(["user", "add", "--provider", name])
            .current_dir(dir.path())
            .env("ORGSYNC_DATABASE_URL", &url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = add("grace", "grace-s-long-password");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("provider user grace added"));
    let again = add("grace", "another-long-password");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let short = add("linus", "short");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("8 to 1024 characters"));
    let db = orgsync::db::Db::connect(&url, 2).unwrap();
    let mut conn = db.get().unwrap();
    let grace = orgsync::db::users::find_provider(&mut conn, "grace")
        .unwrap()
        .unwrap();
    assert!(orgsync::auth::password::verify(
        "grace-s-long-password",
        &grace.password_hash
    ));
    assert!(orgsync::db::users::find_provider(&mut conn, "linus")
        .unwrap()
        .is_none());
}
