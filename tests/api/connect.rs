//! ConnectAsync and UpdateMetadataAsync across two real instances.

use orgsync::auth::Role;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::fixtures::{account_definition, server_org, SYNC_PASSWORD, SYNC_USER};
use crate::testkit::launch::TestApp;
use crate::testkit::net::{free_port, tarpit};

/// The ConnectRequest exactly as the contract shows it.
fn connect_xml(url: &str, password: &str) -> String {
    format!(
        r#"<ConnectRequest>
  <SyncSetup>
    <ProviderID>7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c</ProviderID>
    <Url>{url}</Url>
    <UserName>{SYNC_USER}</UserName>
    <Password>{password}</Password>
    <RegistrationInfo>
      <Email>admin@client.example</Email><FirstName>Ada</FirstName>
      <LastName>Lovelace</LastName><Company>Client Ltd</Company>
    </RegistrationInfo>
    <Entities><Entity>account</Entity><Entity>contact</Entity></Entities>
    <SyncFiltersXml>&lt;SyncFilters&gt;&lt;Entity name="account"&gt;&lt;filter type="and"&gt;&lt;condition attribute="statecode" operator="eq" value="0"/&gt;&lt;/filter&gt;&lt;/Entity&gt;&lt;/SyncFilters&gt;</SyncFiltersXml>
    <WriteOffline>true</WriteOffline>
    <SyncMode>Mirror</SyncMode>
    <ConflictPolicy>ServerWins</ConflictPolicy>
    <SyncInterval>PT1H</SyncInterval>
  </SyncSetup>
</ConnectRequest>"#
    )
}

/// Waits for the accepted job, which must be of `kind` and complete; gives the connection.
async fn settled(app: &TestApp, accepted: &Value, kind: &str, org: &str) -> Value {
    let job = app
        .wait_job(
            accepted["JobId"].as_str().unwrap(),
            &["Completed", "Failed"],
            30,
        )
        .await;
    assert_eq!(
        (job["Kind"].as_str(), job["Status"].as_str()),
        (Some(kind), Some("Completed")),
        "{job}"
    );
    app.get(&format!("/rest/v1/sync/{org}/connection"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json()
}

fn connect_json(url: &str, password: &str) -> Value {
    json!({"SyncSetup": {
        "ProviderID": "orgsync",
        "Url": url,
        "UserName": SYNC_USER,
        "Password": password,
        "SyncFilters": {"account": {"Conditions": [{"Attribute": "statecode", "Operator": "eq", "Value": 0}]}}
    }})
}

async fn metadata_entities(app: &TestApp, org: &str) -> Value {
    app.get(&format!("/rest/v1/orgs/{org}/metadata"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json()["Entities"]
        .clone()
}

async fn connect_in_xml_brings_the_server_metadata(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let res = app
        .post("/rest/v1/sync/client-a/ConnectAsync")
        .xml(&connect_xml(&url, SYNC_PASSWORD))
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::ACCEPTED);
    let location = res.header("location").unwrap();
    let text = res.text();
    assert!(
        text.contains("<Status>Queued</Status>")
            && text.contains(&format!("<Location>{location}</Location>")),
        "{text}"
    );
    let job_id = location.rsplit('/').next().unwrap().to_owned();
    let job = app.wait_job(&job_id, &["Completed", "Failed"], 30).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(job["Kind"], "Connect");
    assert_eq!(job["Org"], "client-a");
    assert_eq!(job["Tries"], 1);
    assert_eq!(
        metadata_entities(&app, "client-a").await,
        metadata_entities(&server, "contoso").await
    );

    let org = app
        .get("/rest/v1/orgs/client-a")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(org["RegistrationInfo"]["Company"], "Client Ltd");
    let connection = app
        .get("/rest/v1/sync/client-a/connection")
        .send()
        .await
        .expect(StatusCode::OK);
    assert!(!connection.text().contains(SYNC_PASSWORD));
    let connection = connection.json();
    assert_eq!(connection["State"], "Connected");
    assert_eq!(connection["WriteOffline"], true);
    assert_eq!(connection["SyncInterval"], "PT3600S");
    let links = connection["Links"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[0]["Entity"], "account");
    assert_eq!(
        links[0]["SyncFilter"]["Conditions"][0]["Attribute"],
        "statecode"
    );
    assert_eq!(links[0]["Inbound"], true);
    assert_eq!(links[1]["Entity"], "contact");
    assert!(links[1].get("SyncFilter").is_none());
    let log = app.job_log(&job_id).await;
    assert!(
        log.iter()
            .any(|e| e["Action"] == "CreateEntity" && e["Entity"] == "account"),
        "{log:?}"
    );
    // The client's metadata now belongs to the server.
    app.put("/rest/v1/orgs/client-a/metadata/entities/account")
        .json(&json!({"Attributes": []}))
        .send()
        .await
        .problem(StatusCode::CONFLICT, "metadata_managed_by_server");
    // A second connect updates the connection's settings, in a job that brings the metadata
    // up to date; the same request again changes nothing more.
    let again = connect_xml(&url, SYNC_PASSWORD)
        .replace(
            "<SyncMode>Mirror</SyncMode>",
            "<SyncMode>Additive</SyncMode>",
        )
        .replace("<WriteOffline>true</WriteOffline>", "")
        .replace(
            "<SyncInterval>PT1H</SyncInterval>",
            "<SyncInterval>2h</SyncInterval>",
        )
        .replace("<Entity>contact</Entity>", "");
    let update = app
        .post("/rest/v1/sync/client-a/ConnectAsync")
        .xml(&again)
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let connection = settled(&app, &update, "UpdateMetadata", "client-a").await;
    assert_eq!(connection["State"], "Connected", "{connection}");
    assert_eq!(connection["SyncMode"], "Additive");
    assert_eq!(connection["WriteOffline"], false, "absent: the default");
    assert_eq!(connection["SyncInterval"], "PT7200S");
    assert_eq!(connection["Entities"], json!(["account"]));
    let links: Vec<&str> = connection["Links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["Entity"].as_str().unwrap())
        .collect();
    assert_eq!(
        links,
        ["account"],
        "the link of the entity no longer selected went"
    );
    let repeat = app
        .post("/rest/v1/sync/client-a/ConnectAsync")
        .xml(&again)
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    app.wait_job(repeat["JobId"].as_str().unwrap(), &["Completed"], 30)
        .await;
    let same = app
        .get("/rest/v1/sync/client-a/connection")
        .send()
        .await
        .json();
    assert_eq!(same["Links"], connection["Links"]);
    assert_eq!(same["SyncMode"], "Additive");
    // A bad setting refuses the whole update: the connection stays as it is.
    app.post("/rest/v1/sync/client-a/ConnectAsync")
        .xml(&again.replace(
            "<SyncInterval>2h</SyncInterval>",
            "<SyncInterval>soon</SyncInterval>",
        ))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let after = app
        .get("/rest/v1/sync/client-a/connection")
        .send()
        .await
        .json();
    assert_eq!(after["SyncInterval"], "PT7200S", "{after}");
}

async fn connect_in_json_and_update_metadata(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let accepted = app
        .post("/rest/v1/sync/client-b/ConnectAsync")
        .json(&connect_json(&url, SYNC_PASSWORD))
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
    assert_eq!(
        metadata_entities(&app, "client-b").await,
        metadata_entities(&server, "contoso").await
    );

    // The server's metadata changes: an attribute added, one removed, an entity added.
    let mut account = account_definition();
    let attrs = account["Attributes"].as_array_mut().unwrap();
    attrs.retain(|a| a["Name"] != "description");
    attrs.push(json!({"Name": "websiteurl", "Type": "String", "MaxLength": 200}));
    server.entity("contoso", "account", account).await;
    server
        .entity(
            "contoso",
            "task",
            json!({"Attributes": [{"Name": "subject", "Type": "String", "Required": true}]}),
        )
        .await;
    let first = app
        .post("/rest/v1/sync/client-b/UpdateMetadataAsync")
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let job = app
        .wait_job(
            first["JobId"].as_str().unwrap(),
            &["Completed", "Failed"],
            30,
        )
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        metadata_entities(&app, "client-b").await,
        metadata_entities(&server, "contoso").await
    );
    let log = app.job_log(first["JobId"].as_str().unwrap()).await;
    let actions: Vec<&str> = log.iter().map(|e| e["Action"].as_str().unwrap()).collect();
    for action in ["AddAttribute", "RemoveAttribute", "AddEntity"] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    let links = app
        .get("/rest/v1/sync/client-b/links")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(links["Links"].as_array().unwrap().len(), 3);

    // An entity that leaves the server leaves the client.
    server
        .delete("/rest/v1/orgs/contoso/metadata/entities/task")
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    let again = app
        .post("/rest/v1/sync/client-b/UpdateMetadataAsync")
        .send()
        .await
        .json();
    app.wait_job(again["JobId"].as_str().unwrap(), &["Completed"], 30)
        .await;
    assert_eq!(
        metadata_entities(&app, "client-b").await,
        metadata_entities(&server, "contoso").await
    );
}

async fn a_wrong_password_fails_at_once(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let accepted = app
        .post("/rest/v1/sync/client-c/ConnectAsync")
        .json(&connect_json(&url, "not-the-password"))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let job = app
        .wait_job(
            accepted["JobId"].as_str().unwrap(),
            &["Failed", "Completed"],
            30,
        )
        .await;
    assert_eq!(job["Status"], "Failed", "{job}");
    assert_eq!(job["Error"]["Code"], "server_auth_failed", "{job}");
    assert_eq!(
        job["Tries"], 1,
        "retrying cannot help a wrong password: {job}"
    );
    let connection = app
        .get("/rest/v1/sync/client-c/connection")
        .send()
        .await
        .json();
    assert_eq!(connection["State"], "Failed");
    assert!(connection["LastError"]
        .as_str()
        .unwrap()
        .contains("server_auth_failed"));
    // ResetTries on the failed job.
    let reset = app
        .post(&format!(
            "/rest/v1/jobs/{}/ResetTries",
            job["JobId"].as_str().unwrap()
        ))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(reset["Tries"], 0);
    assert_eq!(reset["Status"], "Failed");
    // ConnectAsync again with the right password: the Connect job runs again and connects.
    let again = app
        .post("/rest/v1/sync/client-c/ConnectAsync")
        .json(&connect_json(&url, SYNC_PASSWORD))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    assert_ne!(
        again["JobId"], job["JobId"],
        "a new try, not the failed job"
    );
    let connection = settled(&app, &again, "Connect", "client-c").await;
    assert_eq!(connection["State"], "Connected", "{connection}");
    // Finished jobs and their logs go after the job retention; running ones never do.
    let id = job["JobId"].as_str().unwrap().to_owned();
    assert_eq!(
        orgsync::purge_jobs(&app.state).await.unwrap(),
        0,
        "a fresh job is kept"
    );
    {
        use diesel::prelude::*;
        use orgsync::db::schema::jobs;
        let mut conn = app.state.db.get().unwrap();
        let old = orgsync::db::now_micros() - 40 * 86_400_000_000;
        diesel::update(jobs::table.find(&id))
            .set(jobs::finished_on.eq(old))
            .execute(&mut *conn)
            .unwrap();
    }
    assert_eq!(orgsync::purge_jobs(&app.state).await.unwrap(), 1);
    app.get(&format!("/rest/v1/jobs/{id}"))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "job_not_found");
    let left: i64 = {
        use diesel::prelude::*;
        use orgsync::db::schema::job_log;
        let mut conn = app.state.db.get().unwrap();
        job_log::table
            .filter(job_log::job_id.eq(&id))
            .count()
            .get_result(&mut *conn)
            .unwrap()
    };
    assert_eq!(left, 0, "its log went with it");
}

async fn an_unreachable_server_is_retried_then_run_when_back(app: TestApp) {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/rest/v1/orgs/contoso");
    let accepted = app
        .post("/rest/v1/sync/client-d/ConnectAsync")
        .json(&connect_json(&url, SYNC_PASSWORD))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let id = accepted["JobId"].as_str().unwrap().to_owned();
    let job = app.wait_job(&id, &["Failed"], 60).await;
    assert_eq!(job["Error"]["Code"], "server_unavailable");
    assert_eq!(job["Tries"], job["MaxTries"], "retried up to MaxTries");
    let log = app.job_log(&id).await;
    let starts: Vec<&Value> = log.iter().filter(|e| e["Action"] == "Start").collect();
    assert_eq!(starts.len() as i64, job["MaxTries"].as_i64().unwrap());
    // The tries backed off exponentially: the wait before try k+1 is at least the backoff
    // (200 ms in tests) doubled k-1 times, whatever each try itself took.
    let at = |e: &Value| chrono::DateTime::parse_from_rfc3339(e["At"].as_str().unwrap()).unwrap();
    let gaps: Vec<i64> = starts
        .windows(2)
        .map(|w| (at(w[1]) - at(w[0])).num_milliseconds())
        .collect();
    assert!(
        gaps.iter().enumerate().all(|(k, g)| *g >= 200 << k),
        "backoff doubles: {gaps:?}"
    );

    // The server comes back on that port; Run completes the job.
    let server = TestApp::sqlite_at(port).await;
    server_org(&server).await;
    let run = app
        .post(&format!("/rest/v1/jobs/{id}/Run"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(run["Status"], "Queued");
    let job = app.wait_job(&id, &["Completed", "Failed"], 30).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        app.get("/rest/v1/sync/client-d/connection")
            .send()
            .await
            .json()["State"],
        "Connected"
    );
    app.post(&format!("/rest/v1/jobs/{id}/Run"))
        .send()
        .await
        .problem(StatusCode::CONFLICT, "job_not_runnable");
}

async fn a_backing_off_job_can_be_cancelled(app: TestApp) {
    let url = format!("http://127.0.0.1:{}/rest/v1/orgs/contoso", free_port());
    let accepted = app
        .post("/rest/v1/sync/client-e/ConnectAsync")
        .json(&connect_json(&url, SYNC_PASSWORD))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let id = accepted["JobId"].as_str().unwrap().to_owned();
    // Wait for the first failed try: the job is queued again, waiting for its next try.
    loop {
        let job = app.get(&format!("/rest/v1/jobs/{id}")).send().await.json();
        if job["Status"] == "Queued" && job["Tries"] == 1 {
            break;
        }
        assert!(job["Status"] != "Failed", "{job}");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let cancelled = app
        .post(&format!("/rest/v1/jobs/{id}/Cancel"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(cancelled["Status"], "Cancelled");
    actix_web::rt::time::sleep(std::time::Duration::from_millis(800)).await;
    let job = app.get(&format!("/rest/v1/jobs/{id}")).send().await.json();
    assert_eq!(job["Status"], "Cancelled");
    assert_eq!(job["Tries"], 1, "a cancelled job does not run again");
    app.post(&format!("/rest/v1/jobs/{id}/Cancel"))
        .send()
        .await
        .problem(StatusCode::CONFLICT, "job_finished");
    let listed = app
        .get("/rest/v1/jobs?Status=Cancelled&Kind=Connect")
        .send()
        .await
        .json();
    assert_eq!(listed["Jobs"][0]["JobId"], id.as_str());
}

async fn a_running_job_stops_when_cancelled(app: TestApp) {
    let port = free_port();
    let stop = tarpit(port);
    let url = format!("http://127.0.0.1:{port}/rest/v1/orgs/contoso");
    let accepted = app
        .post("/rest/v1/sync/client-r/ConnectAsync")
        .json(&connect_json(&url, SYNC_PASSWORD))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let id = accepted["JobId"].as_str().unwrap().to_owned();
    app.wait_job(&id, &["InProcess"], 30).await;
    let asked = app
        .post(&format!("/rest/v1/jobs/{id}/Cancel"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(asked["Status"], "InProcess");
    assert_eq!(asked["CancelRequested"], true);
    // The stuck call times out; the job then stops instead of being retried.
    let job = app
        .wait_job(&id, &["Cancelled", "Failed", "Completed"], 30)
        .await;
    assert_eq!(job["Status"], "Cancelled", "{job}");
    assert_eq!(job["Tries"], 1);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
}

async fn connect_requests_are_checked_up_front(app: TestApp) {
    let url = "http://127.0.0.1:9/rest/v1/orgs/contoso";
    let mut bad_provider = connect_json(url, "x");
    bad_provider["SyncSetup"]["ProviderID"] = json!("00000000-0000-0000-0000-000000000000");
    let p = app
        .post("/rest/v1/sync/client-f/ConnectAsync")
        .json(&bad_provider)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "unknown_provider");
    assert_eq!(
        p["providers"][0]["ProviderID"],
        "7f3a9c4e-2b1d-4e8f-9a6c-5d0e1f2a3b4c"
    );
    assert_eq!(p["field"], "ProviderID");
    // The sql provider reads its own kind of Url, and says which.
    let mut sql = connect_json(url, "x");
    sql["SyncSetup"]["ProviderID"] = json!("sql");
    let p = app
        .post("/rest/v1/sync/client-f/ConnectAsync")
        .json(&sql)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_url");
    assert!(p["detail"]
        .as_str()
        .unwrap()
        .contains("postgres://host:port/db?schema=NAME"));
    // Consent to change capture means nothing to another provider: refused, not ignored.
    let mut consent = connect_json(url, "x");
    consent["SyncSetup"]["InstallChangeCapture"] = json!(true);
    let p = app
        .post("/rest/v1/sync/client-f/ConnectAsync")
        .json(&consent)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert_eq!(p["field"], "InstallChangeCapture");
    let mut bad_url = connect_json(url, "x");
    bad_url["SyncSetup"]["Url"] = json!("ftp://example/contoso");
    let p = app
        .post("/rest/v1/sync/client-f/ConnectAsync")
        .json(&bad_url)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_url");
    assert_eq!(p["field"], "Url");
    let mut bad_filter = connect_json(url, "x");
    bad_filter["SyncSetup"]["SyncFilters"] = json!({"account": {"Conditions": [{"Attribute": "statecode", "Operator": "sounds-like", "Value": 0}]}});
    let p = app
        .post("/rest/v1/sync/client-f/ConnectAsync")
        .json(&bad_filter)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    assert_eq!(p["operator"], "sounds-like");
    let mut bad_interval = connect_json(url, "x");
    bad_interval["SyncSetup"]["SyncInterval"] = json!("hourly");
    let p = app
        .post("/rest/v1/sync/client-f/ConnectAsync")
        .json(&bad_interval)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    assert_eq!(p["field"], "SyncInterval");
    let mut unknown = connect_json(url, "x");
    unknown["SyncSetup"]["Colour"] = json!("blue");
    app.post("/rest/v1/sync/client-f/ConnectAsync")
        .json(&unknown)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let xml_unknown = connect_xml(url, "x").replace(
        "<SyncMode>Mirror</SyncMode>",
        "<SyncMode>Mirror</SyncMode><Colour>blue</Colour>",
    );
    app.post("/rest/v1/sync/client-f/ConnectAsync")
        .xml(&xml_unknown)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let filter_unknown_element =
        connect_xml(url, "x").replace("&lt;/filter&gt;", "&lt;sneaky/&gt;&lt;/filter&gt;");
    app.post("/rest/v1/sync/client-f/ConnectAsync")
        .xml(&filter_unknown_element)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    app.post("/rest/v1/sync/client-f/ConnectAsync")
        .xml("<ConnectRequest><SyncSetup>")
        .send()
        .await
        .problem(StatusCode::BAD_REQUEST, "malformed_xml");
    // None of it registered the org, stored a connection or queued a job.
    app.get("/rest/v1/orgs/client-f")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
    assert!(app.get("/rest/v1/jobs").send().await.json()["Jobs"]
        .as_array()
        .unwrap()
        .is_empty());
    // Only the provider connects orgs.
    let org = app.org("client-g").await;
    app.post(&format!("/rest/v1/sync/{org}/ConnectAsync"))
        .bearer(&app.token(Role::OrgAdmin, &org).await)
        .json(&connect_json(url, "x"))
        .send()
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
}

async fn an_org_token_never_sees_another_orgs_jobs(app: TestApp) {
    let url = format!("http://127.0.0.1:{}/rest/v1/orgs/contoso", free_port());
    let accepted = app
        .post("/rest/v1/sync/client-h/ConnectAsync")
        .json(&connect_json(&url, "x"))
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let id = accepted["JobId"].as_str().unwrap();
    let other = app.org("other").await;
    let token = app.token(Role::OrgAdmin, &other).await;
    app.get(&format!("/rest/v1/jobs/{id}"))
        .bearer(&token)
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "job_not_found");
    app.get(&format!("/rest/v1/jobs/{id}/log"))
        .bearer(&token)
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "job_not_found");
    app.post(&format!("/rest/v1/jobs/{id}/Cancel"))
        .bearer(&token)
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "job_not_found");
    let mine = app.get("/rest/v1/jobs").bearer(&token).send().await.json();
    assert!(mine["Jobs"].as_array().unwrap().is_empty());
    let asked = app
        .get("/rest/v1/jobs?Org=client-h")
        .bearer(&token)
        .send()
        .await
        .json();
    assert!(asked["Jobs"].as_array().unwrap().is_empty());
    app.get("/rest/v1/sync/client-h/connection")
        .bearer(&token)
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
    // Its own admin sees it.
    let own = app.token(Role::OrgAdmin, "client-h").await;
    app.get(&format!("/rest/v1/jobs/{id}"))
        .bearer(&own)
        .send()
        .await
        .expect(StatusCode::OK);
    let user = app.token(Role::OrgUser, "client-h").await;
    app.post(&format!("/rest/v1/jobs/{id}/Cancel"))
        .bearer(&user)
        .send()
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
}

async fn the_connection_and_its_links_can_be_changed(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let accepted = app
        .post("/rest/v1/sync/client-i/ConnectAsync")
        .json(&connect_json(&url, SYNC_PASSWORD))
        .send()
        .await
        .json();
    app.wait_job(accepted["JobId"].as_str().unwrap(), &["Completed"], 30)
        .await;
    let patched = app.patch("/rest/v1/sync/client-i/connection")
        .json(&json!({"ConflictPolicy": "Manual", "SyncMode": "Additive", "WriteOffline": true, "SyncInterval": null, "Password": SYNC_PASSWORD}))
        .send().await.expect(StatusCode::OK);
    assert!(!patched.text().contains(SYNC_PASSWORD));
    let c = patched.json();
    assert_eq!(
        (c["ConflictPolicy"].as_str(), c["SyncMode"].as_str()),
        (Some("Manual"), Some("Additive"))
    );
    // A new filter is typed against the metadata and marks its link for a full read.
    let p = app.patch("/rest/v1/sync/client-i/connection").json(&json!({"SyncFilters": {"account": {"Conditions": [{"Attribute": "nope", "Operator": "eq", "Value": 1}]}}}))
        .send().await.problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    assert_eq!(p["attribute"], "nope");
    let link = app.patch("/rest/v1/sync/client-i/links/account")
        .json(&json!({"Outbound": false, "SyncFilter": {"Conditions": [{"Attribute": "statecode", "Operator": "eq", "Value": 1}]}}))
        .send().await.expect(StatusCode::OK).json();
    assert_eq!(link["Outbound"], false);
    assert_eq!(link["NeedsFull"], true);
    assert_eq!(link["SyncFilter"]["Conditions"][0]["Value"], 1);
    let xml = app
        .patch("/rest/v1/sync/client-i/links/contact")
        .xml("<LinkPatch><Inbound>false</Inbound></LinkPatch>")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(xml.contains("<Inbound>false</Inbound>"), "{xml}");
    app.patch("/rest/v1/sync/client-i/links/ghost")
        .json(&json!({"Inbound": false}))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "link_not_found");
    // Selecting fewer entities queues a metadata update that removes the other.
    let res = app
        .patch("/rest/v1/sync/client-i/connection")
        .json(&json!({"Entities": ["account"]}))
        .send()
        .await
        .expect(StatusCode::OK);
    let job_id = res
        .header("location")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    app.wait_job(&job_id, &["Completed"], 30).await;
    let names: Vec<String> = metadata_entities(&app, "client-i")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["account"]);
    app.delete("/rest/v1/sync/client-i/connection")
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get("/rest/v1/sync/client-i/connection")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "not_connected");
    // Disconnected, the org's metadata is its own again.
    app.put("/rest/v1/orgs/client-i/metadata/entities/note")
        .json(&json!({"Attributes": []}))
        .send()
        .await
        .expect(StatusCode::CREATED);
}

/// An empty XML element is an absent one: the defaults apply, and `SyncInterval` takes the
/// environment's forms of a duration too.
async fn empty_xml_elements_are_absent(app: TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let body = format!(
        "<ConnectRequest><SyncSetup><ProviderID>orgsync</ProviderID><Url>{url}</Url>\
         <UserName>{SYNC_USER}</UserName><Password>{SYNC_PASSWORD}</Password>\
         <Entities/><SyncFiltersXml/><WriteOffline></WriteOffline><SyncMode/>\
         <ConflictPolicy> </ConflictPolicy><SyncInterval>2h</SyncInterval><MatchOn/>\
         <DeleteGuard/></SyncSetup></ConnectRequest>"
    );
    let accepted = app
        .post("/rest/v1/sync/client-e/ConnectAsync")
        .xml(&body)
        .send()
        .await
        .expect(StatusCode::ACCEPTED)
        .json();
    let job = app
        .wait_job(accepted["JobId"].as_str().unwrap(), &["Completed"], 30)
        .await;
    assert_eq!(job["Status"], "Completed");
    let connection = app
        .get("/rest/v1/sync/client-e/connection")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(connection["SyncMode"], "Mirror", "{connection}");
    assert_eq!(connection["ConflictPolicy"], "ServerWins", "{connection}");
    assert_eq!(connection["WriteOffline"], false, "{connection}");
    assert_eq!(connection["SyncInterval"], "PT7200S", "{connection}");
    assert_eq!(
        connection["Links"].as_array().unwrap().len(),
        2,
        "all entities"
    );
}

both_backends!(
    empty_xml_elements_are_absent,
    connect_in_xml_brings_the_server_metadata,
    connect_in_json_and_update_metadata,
    an_unreachable_server_is_retried_then_run_when_back,
    a_backing_off_job_can_be_cancelled,
    a_running_job_stops_when_cancelled,
    connect_requests_are_checked_up_front,
    an_org_token_never_sees_another_orgs_jobs,
    the_connection_and_its_links_can_be_changed
);

/// A sign-in the machine is too busy to answer within the usual 5 s would be retried as an
/// unreachable server, and this test counts tries: it gives the server time to say no.
fn patient(settings: &mut orgsync::config::Settings) {
    settings.provider_timeout = std::time::Duration::from_secs(60);
}

both_backends_with!(patient; a_wrong_password_fails_at_once);
