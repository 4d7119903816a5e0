//! The admin console in a real browser: headless Chromium through its WebDriver, against two
//! real instances (a server org and a client org connected to it). Each page is saved as a
//! screenshot in `target/screenshots/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../testkit/mod.rs"]
mod testkit;

mod driver;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::driver::{Browser, Driver};
use crate::testkit::client::Client;
use crate::testkit::fixtures::{account_op, server_org};
use crate::testkit::launch::TestApp;

const PASSWORD: &str = "console-Pa55word!";

/// Browsers are heavy on a small machine: the tests take turns.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Makes an org_admin of `org` who signs in with [`PASSWORD`].
async fn admin_of(app: &Client, org: &str) -> String {
    let user = format!("admin@{org}.example");
    app.post(&format!("/rest/v1/orgs/{org}/users"))
        .json(&json!({"UserName": user, "Password": PASSWORD, "Role": "org_admin"}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    user
}

/// Opens the console of `app` and signs in as `user` of `org`.
async fn sign_in(browser: &Browser, app: &Client, org: &str, user: &str) {
    browser.goto(&format!("{}/admin/", app.base())).await;
    browser.type_into("#signin-org", org).await;
    browser.type_into("#signin-user", user).await;
    browser.type_into("#signin-password", PASSWORD).await;
    browser.click("#signin-submit").await;
    browser.wait_text("#whoami", user).await;
}

/// Goes to a page of the signed-in console by its hash route.
async fn open(browser: &Browser, app: &Client, route: &str, page: &str) {
    browser
        .goto(&format!("{}/admin/#/{route}", app.base()))
        .await;
    browser.find(&format!("[data-page=\"{page}\"]")).await;
}

/// The one transaction of `record` in `org` with this status.
async fn transaction_of(app: &Client, org: &str, record: &str, status: &str) -> Value {
    let list = app
        .get(&format!("/rest/v1/sync/{org}/transactions?Status={status}"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    list["Transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["RecordId"] == record)
        .cloned()
        .unwrap_or_else(|| panic!("no {status} transaction of {record}: {list}"))
}

/// The account link's saved snapshot filter, once it has one.
async fn wait_for_snapshot_filter(app: &Client) -> Value {
    for _ in 0..100 {
        let links = app
            .get("/rest/v1/sync/client/links")
            .send()
            .await
            .expect(StatusCode::OK)
            .json();
        let filter = links["Links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["Entity"] == "account")
            .map(|l| l["SnapshotFilter"].clone())
            .unwrap_or(Value::Null);
        if !filter.is_null() {
            return filter;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the account link never got a snapshot filter");
}

/// A server with accounts, and a client org that writes offline and settles conflicts by hand;
/// another client org beside it that the client's admin must not see.
async fn connected() -> (TestApp, TestApp) {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let ops = (1..=20)
        .map(|i| account_op(&format!("acc-{i}"), &format!("Account {i}"), 0))
        .collect();
    server.write_batch("contoso", ops).await;
    let client = TestApp::sqlite().await;
    let setup = json!({"Entities": ["account"], "WriteOffline": true,
                       "ConflictPolicy": "Manual"});
    client.connect("client", &url, setup.clone()).await;
    client.connect("other", &url, setup).await;
    (server, client)
}

/// Sign in, see the connection (and not the other org's), sync and watch it complete, archive
/// a transaction and set it back to pending, resolve a conflict with the client's value.
#[actix_web::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "needs ORGSYNC_TEST_BROWSER at build time"
)]
async fn an_admin_works_in_the_console() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (server, client) = connected().await;
    let user = admin_of(&client, "client").await;
    let driver = Driver::start();
    let browser = driver.browser(1280).await;

    browser.goto(&format!("{}/admin/", client.base())).await;
    browser.find("[data-page=\"signin\"]").await;
    browser.shot("signin").await;
    sign_in(&browser, &client, "client", &user).await;

    // The connection, and only the admin's own.
    open(&browser, &client, "connections", "connections").await;
    browser.find("#connections tr[data-org=\"client\"]").await;
    assert_eq!(browser.count("tr[data-org=\"other\"]").await, 0);
    browser.shot("connections").await;

    // Sync now, and watch the job complete in the queue.
    browser
        .click("tr[data-org=\"client\"] button[data-action=\"sync\"]")
        .await;
    open(&browser, &client, "jobs", "jobs").await;
    let row = "#jobs tr[data-job]";
    browser
        .wait_text(&format!("{row} td[data-col=\"command\"]"), "client")
        .await;
    browser
        .wait_text(&format!("{row} td[data-col=\"status\"]"), "Completed")
        .await;
    assert_eq!(
        client.usage_count("client").await,
        20,
        "the sync brought the accounts"
    );
    browser.shot("jobs").await;
    let job = browser
        .find(row)
        .await
        .attr("data-job")
        .await
        .unwrap()
        .unwrap();
    open(&browser, &client, &format!("jobs/{job}"), "job").await;
    browser.wait_text("#job-status", "Completed").await;
    browser.find("#job-summary").await;
    browser.find("#job-log tr[data-level]").await;
    browser.shot("job").await;

    // An offline write waits as a transaction: archived, then pending again.
    client
        .patch("/rest/v1/orgs/client/entities/account/records/acc-2")
        .json(&json!({"Attributes": {"name": "Written offline"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    let tx = transaction_of(&client, "client", "acc-2", "Pending").await;
    let tx = tx["TransactionId"].as_str().unwrap();
    let tx_row = format!("tr[data-tx=\"{tx}\"]");
    open(&browser, &client, "transactions/client", "transactions").await;
    browser.click(&format!("{tx_row} input[data-select]")).await;
    browser.click("#tx-set-archived").await;
    browser
        .wait_text(&format!("{tx_row} td[data-col=\"status\"]"), "Archived")
        .await;
    browser
        .wait_text("a[data-tab=\"Archived\"] span[data-count]", "1")
        .await;
    transaction_of(&client, "client", "acc-2", "Archived").await;
    browser.shot("transactions").await;
    browser.click(&format!("{tx_row} input[data-select]")).await;
    browser.click("#tx-set-pending").await;
    browser
        .wait_text(&format!("{tx_row} td[data-col=\"status\"]"), "Pending")
        .await;
    transaction_of(&client, "client", "acc-2", "Pending").await;

    // Both sides change acc-3: the client's value is taken.
    client
        .patch("/rest/v1/orgs/client/entities/account/records/acc-3")
        .json(&json!({"Attributes": {"name": "Client's name"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    server
        .patch("/rest/v1/orgs/contoso/entities/account/records/acc-3")
        .json(&json!({"Attributes": {"name": "Server's name"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    client.sync("client", json!({})).await;
    open(&browser, &client, "conflicts/client", "conflicts").await;
    let card = browser.find("[data-conflict]").await;
    let conflict = card.attr("data-conflict").await.unwrap().unwrap();
    browser
        .wait_text(&format!("[data-conflict=\"{conflict}\"]"), "Server's name")
        .await;
    browser.shot("conflicts").await;
    browser
        .click(&format!(
            "[data-conflict=\"{conflict}\"] button[data-action=\"take-client\"]"
        ))
        .await;
    browser.find("#conflicts-empty").await;
    client.sync("client", json!({})).await;
    let on_server = server
        .get("/rest/v1/orgs/contoso/entities/account/records/acc-3")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(on_server["Attributes"]["name"], "Client's name");

    // The connection's own page, and a record's timeline.
    open(&browser, &client, "connections/client", "connection").await;
    browser.find("#links tr[data-entity=\"account\"]").await;
    browser.shot("connection").await;
    // A filtered Get snapshot of one link: its form in the dialog, and the filter saved on the
    // link; then the dialog is left without starting anything.
    browser
        .click("button[data-action=\"get-snapshot\"][data-entity=\"account\"]")
        .await;
    browser
        .find("dialog#confirm[open] form#snapshot-filter")
        .await;
    browser
        .click("input[name=\"scope\"][value=\"filtered\"]")
        .await;
    browser.click("input[name=\"IncludeUndated\"]").await;
    browser
        .click("button[data-action=\"save-snapshot-filter\"]")
        .await;
    let saved = wait_for_snapshot_filter(&client).await;
    assert_eq!(saved["IncludeUndated"], true, "{saved}");
    browser.shot("snapshot-dialog").await;
    browser.click("#confirm-cancel").await;
    open(&browser, &client, "timeline/client", "timeline").await;
    browser.shot("timeline").await;

    // Another org's page is refused, as the API refuses it.
    open(&browser, &client, "connections/other", "connection").await;
    browser
        .wait_text("[data-page=\"connection\"] [role=\"alert\"]", "other")
        .await;
    assert_eq!(browser.count("#links tr[data-entity]").await, 0);
    browser.shot("another-org-refused").await;

    // Sign out forgets the token: the sign-in form again, even after a reload.
    browser.click("#signout").await;
    browser.find("[data-page=\"signin\"]").await;
    browser
        .goto(&format!("{}/admin/#/jobs", client.base()))
        .await;
    browser.find("[data-page=\"signin\"]").await;

    // Readable on a phone.
    let phone = driver.browser(390).await;
    sign_in(&phone, &client, "client", &user).await;
    open(&phone, &client, "connections", "connections").await;
    phone.find("#connections tr[data-org=\"client\"]").await;
    phone.shot("connections-phone").await;
    phone.close().await;
    browser.close().await;
}

/// A job waiting in the queue (of a process that runs none) is cancelled from the queue page.
#[actix_web::test]
#[cfg_attr(
    not(browser_tests),
    ignore = "needs ORGSYNC_TEST_BROWSER at build time"
)]
async fn a_queued_job_is_cancelled() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let idle = TestApp::sqlite_with(|s| s.workers = 0).await;
    let job = idle
        .connect_async("queued", &url, json!({"Entities": ["account"]}))
        .await;
    let user = admin_of(&idle, "queued").await;
    let driver = Driver::start();
    let browser = driver.browser(1280).await;
    sign_in(&browser, &idle, "queued", &user).await;
    open(&browser, &idle, "jobs", "jobs").await;
    let row = format!("tr[data-job=\"{job}\"]");
    browser
        .wait_text(&format!("{row} td[data-col=\"status\"]"), "Queued")
        .await;
    browser
        .click(&format!("{row} button[data-action=\"cancel\"]"))
        .await;
    browser.find("dialog#confirm[open]").await;
    browser.shot("confirm-cancel").await;
    browser.click("#confirm-ok").await;
    browser
        .wait_text(&format!("{row} td[data-col=\"status\"]"), "Cancelled")
        .await;
    assert_eq!(idle.job(&job).await["Status"], "Cancelled");
    browser.close().await;
}
