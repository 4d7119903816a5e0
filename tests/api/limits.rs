//! Bounded work per request: pages end early by size, records and backend answers have a
//! largest size, and filters have caps on what they may ask for.

use std::collections::BTreeMap;

use orgsync::config::Settings;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::client::FINISHED;
use crate::testkit::digest::digest;
use crate::testkit::fixtures::{upsert, SYNC_PASSWORD, SYNC_USER};
use crate::testkit::launch::TestApp;
use crate::testkit::net::FakeServer;

const PAGE_BYTES: usize = 64 * 1024;

/// Pages of at most 64 KiB of records.
fn small_pages(s: &mut Settings) {
    s.page_bytes = PAGE_BYTES;
}

/// The size of a record's attributes as JSON.
fn size_of(attributes: &Value) -> usize {
    serde_json::to_string(attributes).unwrap().len()
}

/// Writes `n` accounts of about 20 KB each; gives their sizes by id.
async fn large_accounts(app: &TestApp, org: &str, n: usize) -> BTreeMap<String, usize> {
    let ops: Vec<Value> = (0..n)
        .map(|i| {
            upsert("account", &format!("big-{i:03}"))
                .attr("name", format!("Big {i}"))
                .attr("description", format!("{i:03}").repeat(6_700))
                .build()
        })
        .collect();
    app.write_batch(org, ops).await;
    let stored = digest(app, org, "account").await;
    assert_eq!(stored.len(), n);
    stored
        .iter()
        .map(|(id, a)| (id.clone(), size_of(a)))
        .collect()
}

/// Checks the pages a listing came in: each ended early, none larger than the page size and
/// one record, and together they hold every record exactly once.
fn check_pages(pages: &[Vec<(String, usize)>], sizes: &BTreeMap<String, usize>) {
    let largest = sizes.values().copied().max().unwrap();
    let all: usize = sizes.values().sum();
    assert!(all > 8 * PAGE_BYTES, "the records make many pages");
    assert!(
        pages.len() >= all / (PAGE_BYTES + largest),
        "{} pages for {all} bytes",
        pages.len()
    );
    let mut seen = BTreeMap::new();
    for page in pages {
        assert!(!page.is_empty(), "an empty page");
        let bytes: usize = page.iter().map(|(_, n)| n).sum();
        assert!(
            bytes <= PAGE_BYTES + largest,
            "a page of {bytes} bytes ({} records)",
            page.len()
        );
        for (id, _) in page {
            *seen.entry(id.clone()).or_insert(0) += 1;
        }
    }
    assert_eq!(
        seen.keys().collect::<Vec<_>>(),
        sizes.keys().collect::<Vec<_>>()
    );
    assert!(
        seen.values().all(|n| *n == 1),
        "a record came twice: {seen:?}"
    );
}

async fn pages_of_large_records_end_early(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let sizes = large_accounts(&app, &org, 40).await;

    // The records, 1000 asked for a page.
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/rest/v1/orgs/{org}/entities/account/records?Limit=1000");
        if let Some(c) = &cursor {
            path.push_str(&format!("&Cursor={c}"));
        }
        let page = app.get(&path).send().await.expect(StatusCode::OK).json();
        let records = page["Records"].as_array().unwrap();
        pages.push(
            records
                .iter()
                .map(|r| {
                    (
                        r["Id"].as_str().unwrap().to_owned(),
                        size_of(&r["Attributes"]),
                    )
                })
                .collect::<Vec<_>>(),
        );
        match page.get("Next").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages.len() <= sizes.len(), "the pages never end");
    }
    check_pages(&pages, &sizes);

    // The change feed, 10000 asked for a page.
    let mut pages = Vec::new();
    let mut since: Option<String> = None;
    loop {
        let mut body = json!({"Limit": 10000});
        if let Some(s) = &since {
            body["Since"] = json!(s);
        }
        let page = app
            .post(&format!("/rest/v1/orgs/{org}/changes"))
            .json(&body)
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        let changes = page["Changes"].as_array().unwrap();
        pages.push(
            changes
                .iter()
                .map(|c| {
                    (
                        c["Id"].as_str().unwrap().to_owned(),
                        size_of(&c["Attributes"]),
                    )
                })
                .collect::<Vec<_>>(),
        );
        since = Some(page["Next"].as_str().unwrap().to_owned());
        if !page["More"].as_bool().unwrap() {
            break;
        }
        assert!(pages.len() <= sizes.len(), "the feed never ends");
    }
    check_pages(&pages, &sizes);
    // A page ends at the page size, not before: small records still come many to a page.
    let small: Vec<Value> = (0..50)
        .map(|i| {
            upsert("account", &format!("small-{i:02}"))
                .attr("name", "S")
                .build()
        })
        .collect();
    app.write_batch(&org, small).await;
    let page = app
        .post(&format!("/rest/v1/orgs/{org}/changes"))
        .json(&json!({"Limit": 10000, "Since": since.unwrap()}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(page["Changes"].as_array().unwrap().len(), 50);
    assert_eq!(page["More"], false);
}

async fn an_oversized_record_is_refused(app: TestApp) {
    let org = app.crm_org("contoso").await;
    app.create_record(&org, "account", json!({"name": "Existing"}))
        .await;
    let max = app.state.settings.record_max_bytes;
    assert_eq!(max, 1024 * 1024, "the default");
    let records = format!("/rest/v1/orgs/{org}/entities/account/records");
    // Just below the largest size is fine.
    app.post(&records)
        .json(&json!({"Id": "near", "Attributes": {"name": "Near", "description": "n".repeat(max - 100)}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    let before = digest(&app, &org, "account").await;
    let too_big = "x".repeat(max);
    let p = app
        .post(&records)
        .json(&json!({"Attributes": {"name": "Big", "description": too_big}}))
        .send()
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE, "record_too_large");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains(&max.to_string()), "{p}");
    assert_eq!(p["entity"], "account", "{p}");
    // A change that grows a record past it, and a replacement of one.
    app.patch(&format!("{records}/near"))
        .json(&json!({"Attributes": {"emailaddress1": "grow@example.com", "description": too_big}}))
        .send()
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE, "record_too_large");
    app.put(&format!("{records}/near"))
        .json(&json!({"Attributes": {"name": "Near", "description": too_big}}))
        .send()
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE, "record_too_large");
    // In a batch, the oversized operation fails alone.
    let res = app
        .post(&format!("/rest/v1/orgs/{org}/batch"))
        .json(&json!({"Operations": [
            upsert("account", "fine").attr("name", "Fine").build(),
            upsert("account", "huge").attr("name", "Huge").attr("description", too_big.clone()).build(),
        ]}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert!(res["Results"][0]["Status"].as_i64().unwrap() < 300, "{res}");
    assert_eq!(res["Results"][1]["Status"], 413, "{res}");
    assert_eq!(
        res["Results"][1]["Error"]["code"], "record_too_large",
        "{res}"
    );
    assert_eq!(res["Results"][1]["Error"]["id"], "huge", "{res}");
    let mut after = digest(&app, &org, "account").await;
    assert!(after.remove("fine").is_some());
    assert_eq!(after, before, "nothing else was written");
}

/// Backend answers of at most 64 KiB.
fn small_answers(s: &mut Settings) {
    s.provider_response_limit = 64 * 1024;
}

async fn an_oversized_answer_of_the_server_is_refused(app: TestApp) {
    let token = "t".repeat(1024 * 1024);
    let body = json!({"AccessToken": token, "TokenType": "Bearer", "ExpiresIn": 3600}).to_string();
    let server = FakeServer::respond(
        "200 OK",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    let id = app
        .connect_async("client", &server.org_url("contoso"), json!({}))
        .await;
    let job = app.wait_job(&id, FINISHED, 60).await;
    assert_eq!(job["Status"], "Failed", "{job}");
    assert_eq!(job["Error"]["Code"], "server_rejected", "{job}");
    assert_eq!(job["Tries"], 1, "a larger answer is not worth another try");
    let message = job["Error"]["Message"].as_str().unwrap();
    assert!(message.contains("larger than 65536 bytes"), "{message}");
    assert_eq!(server.requests(), 1, "it stopped at the sign-in");
}

/// `n` conditions on the account's name.
fn conditions(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"Attribute": "name", "Operator": "eq", "Value": format!("n{i}")}))
        .collect()
}

/// Filters at and just over each cap, each with the words its refusal must hold.
fn capped_filters() -> Vec<(Value, Value, &'static str)> {
    let values = |n: usize| -> Vec<Value> { (0..n).map(|i| json!(format!("v{i}"))).collect() };
    vec![
        (
            json!({"account": {"Conditions": conditions(256)}}),
            json!({"account": {"Conditions": conditions(257)}}),
            "more than 256 conditions",
        ),
        (
            json!({"account": {"Conditions": conditions(200)}, "contact": {"Conditions": [{"Attribute": "fullname", "Operator": "eq", "Value": "x"}]}}),
            json!({"account": {"Conditions": conditions(200)}, "contact": {"Filters": [{"Conditions": conditions(57).into_iter().map(|mut c| { c["Attribute"] = json!("fullname"); c }).collect::<Vec<_>>()}]}}),
            "more than 256 conditions",
        ),
        (
            json!({"account": {"Conditions": [{"Attribute": "name", "Operator": "in", "Values": values(1000)}]}}),
            json!({"account": {"Conditions": [{"Attribute": "name", "Operator": "in", "Values": values(1001)}]}}),
            "cap of 1000",
        ),
        (
            json!({"account": {"Conditions": [{"Attribute": "description", "Operator": "eq", "Value": "d".repeat(1000)}]}}),
            json!({"account": {"Conditions": [{"Attribute": "description", "Operator": "eq", "Value": "d".repeat(1001)}]}}),
            "cap of 1000",
        ),
    ]
}

/// The XML form of `n` conditions on the account's name.
fn xml_conditions(n: usize) -> String {
    let conditions: String = (0..n)
        .map(|i| format!(r#"<condition attribute="name" operator="eq" value="n{i}"/>"#))
        .collect();
    format!(
        r#"<SyncFilters><Entity name="account"><filter type="or">{conditions}</filter></Entity></SyncFilters>"#
    )
}

async fn filters_over_the_caps_are_refused(app: TestApp) {
    let org = app.crm_org("contoso").await;
    app.create_record(&org, "account", json!({"name": "n3"}))
        .await;
    let changes = format!("/rest/v1/orgs/{org}/changes");
    for (at, over, words) in capped_filters() {
        app.post(&changes)
            .json(&json!({"SyncFilters": at}))
            .send()
            .await
            .expect(StatusCode::OK);
        let p = app
            .post(&changes)
            .json(&json!({"SyncFilters": over}))
            .send()
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains(words), "'{words}' not in {detail}");
    }
    let ok = app
        .post(&changes)
        .json(&json!({"SyncFiltersXml": xml_conditions(256)}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(ok["Changes"][0]["Attributes"]["name"], "n3");
    let p = app
        .post(&changes)
        .json(&json!({"SyncFiltersXml": xml_conditions(257)}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    assert!(p["detail"].as_str().unwrap().contains("256"), "{p}");

    // ConnectAsync refuses them up front: no org, no connection, no job.
    let url = "http://127.0.0.1:9/rest/v1/orgs/contoso";
    for (_, over, words) in capped_filters() {
        let p = app
            .post("/rest/v1/sync/client/ConnectAsync")
            .json(&json!({"SyncSetup": {"ProviderID": "orgsync", "Url": url, "UserName": SYNC_USER, "Password": SYNC_PASSWORD, "SyncFilters": over}}))
            .send()
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains(words), "'{words}' not in {detail}");
    }
    app.post("/rest/v1/sync/client/ConnectAsync")
        .json(&json!({"SyncSetup": {"ProviderID": "orgsync", "Url": url, "UserName": SYNC_USER, "Password": SYNC_PASSWORD, "SyncFiltersXml": xml_conditions(257)}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    app.get("/rest/v1/orgs/client")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
    let jobs = app.get("/rest/v1/jobs").send().await.json();
    assert!(jobs["Jobs"].as_array().unwrap().is_empty(), "{jobs}");
}

both_backends!(
    an_oversized_record_is_refused,
    filters_over_the_caps_are_refused
);
both_backends_with!(small_pages; pages_of_large_records_end_early);
both_backends_with!(small_answers; an_oversized_answer_of_the_server_is_refused);
