//! Explain: a filter's scope counted where the data is, with the reasons of named records.

use reqwest::StatusCode;
use serde_json::json;

use crate::testkit::fixtures::{account_op, server_org};
use crate::testkit::launch::TestApp;

/// A server of 1000 accounts, every other one active (statecode 0), and the client connected
/// to it without filters.
async fn connected(app: &TestApp) -> TestApp {
    let server = TestApp::sqlite().await;
    let url = server_org(&server).await;
    let ops = (0..1000)
        .map(|i| account_op(&format!("acc-{i:05}"), &format!("Account {i}"), i % 2))
        .collect();
    server.write_batch("contoso", ops).await;
    app.connect("client", &url, json!({"Entities": ["account"]}))
        .await;
    server
}

async fn explain_counts_and_says_why(app: TestApp) {
    let _server = connected(&app).await;
    let explain = "/rest/v1/sync/client/links/account/Explain";
    let active = json!({"Type": "and", "Conditions": [
        {"Attribute": "statecode", "Operator": "eq", "Value": 0},
        {"Attribute": "name", "Operator": "begins-with", "Value": "account"}]});
    let answer = app
        .post(explain)
        .json(&json!({"SyncFilter": active, "RecordIds": ["acc-00000", "acc-00001", "nope"]}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(
        (&answer["InScope"], &answer["Total"]),
        (&json!(500), &json!(1000)),
        "{answer}"
    );
    let records = answer["Records"].as_array().unwrap();
    assert_eq!(
        records[0],
        json!({"Id": "acc-00000", "Exists": true, "InScope": true, "Failed": []})
    );
    assert_eq!(
        records[1],
        json!({"Id": "acc-00001", "Exists": true, "InScope": false, "Failed": [
            {"Attribute": "statecode", "Operator": "eq", "Value": 0, "Actual": 1}]}),
        "the failing condition and the record's value; the passing one is not named"
    );
    assert_eq!(
        records[2],
        json!({"Id": "nope", "Exists": false, "InScope": false, "Failed": []})
    );
    // Nothing was synced by asking.
    assert_eq!(app.usage_count("client").await, 0);
    // A link without a filter keeps everything.
    let answer = app
        .post(explain)
        .json(&json!({}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(
        (&answer["InScope"], &answer["Total"]),
        (&json!(1000), &json!(1000)),
        "{answer}"
    );

    // Without a filter in the request, the link's own counts; in XML too.
    app.patch("/rest/v1/sync/client/links/account")
        .json(&json!({"SyncFilter": {"Conditions": [
            {"Attribute": "statecode", "Operator": "ne", "Value": 0}]}}))
        .send()
        .await
        .expect(StatusCode::OK);
    let answer = app
        .post(explain)
        .json(&json!({}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(answer["InScope"], 500, "{answer}");
    let answer = app
        .post(explain)
        .xml(
            "<ExplainRequest><SyncFilterXml><![CDATA[<filter type=\"or\">\
             <condition attribute=\"name\" operator=\"in\"><value>Account 7</value><value>account 8</value></condition>\
             </filter>]]></SyncFilterXml></ExplainRequest>",
        )
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(answer["InScope"], 2, "{answer}");

    // A bad filter, too many ids, another entity: refused, naming what is wrong.
    let p = app
        .post(explain)
        .json(&json!({"SyncFilter": {"Conditions": [
            {"Attribute": "nosuch", "Operator": "eq", "Value": 1}]}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    assert_eq!(p["attribute"], "nosuch", "{p}");
    let ids: Vec<String> = (0..101).map(|i| format!("acc-{i:05}")).collect();
    app.post(explain)
        .json(&json!({"RecordIds": ids}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    app.post("/rest/v1/sync/client/links/contact/Explain")
        .json(&json!({}))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "link_not_found");
}

both_backends!(explain_counts_and_says_why);
