use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::testkit::launch::TestApp;

fn ids(changes: &[Value], op: &str) -> BTreeSet<String> {
    changes
        .iter()
        .filter(|c| c["Op"] == op)
        .map(|c| c["Id"].as_str().unwrap().to_owned())
        .collect()
}

async fn upsert(app: &TestApp, org: &str, id: &str, attributes: Value) {
    let body = json!({"Operations": [{"Op": "Upsert", "Entity": "account", "Id": id, "Attributes": attributes}]});
    let res = app
        .post(&format!("/rest/v1/orgs/{org}/batch"))
        .json(&body)
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert!(res["Results"][0]["Status"].as_i64().unwrap() < 300, "{res}");
}

async fn the_feed_returns_each_change_once_in_version_order(app: TestApp) {
    let org = app.crm_org("contoso").await;
    for i in 0..5 {
        upsert(
            &app,
            &org,
            &format!("a{i}"),
            json!({"name": format!("A{i}")}),
        )
        .await;
    }
    let (initial, token) = app.all_changes(&org, None, json!({"Limit": 2})).await;
    assert_eq!(ids(&initial, "Upsert").len(), 5);
    let versions: Vec<i64> = initial
        .iter()
        .map(|c| c["Version"].as_i64().unwrap())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");

    upsert(&app, &org, "a1", json!({"name": "A1 again"})).await;
    upsert(&app, &org, "a1", json!({"name": "A1 thrice"})).await;
    app.delete(&format!("/rest/v1/orgs/{org}/entities/account/records/a2"))
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    upsert(&app, &org, "a9", json!({"name": "New"})).await;
    app.delete(&format!("/rest/v1/orgs/{org}/entities/account/records/a9"))
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);

    let (changes, token2) = app.all_changes(&org, Some(&token), json!({})).await;
    // a1 once, at its latest state; a2 deleted; a9 came and went after the token: nothing to tell.
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0]["Id"], "a1");
    assert_eq!(changes[0]["Attributes"]["name"], "A1 thrice");
    assert_eq!(
        changes[1],
        json!({"Entity": "account", "Id": "a2", "Op": "Delete", "Version": changes[1]["Version"], "ModifiedOn": changes[1]["ModifiedOn"]})
    );
    let (none, token3) = app.all_changes(&org, Some(&token2), json!({})).await;
    assert!(none.is_empty());
    assert_eq!(token3, token2);

    // XML, with an entity list as comma text.
    let xml = format!("<ChangesRequest><Since>{token}</Since><Entities>account, contact</Entities></ChangesRequest>");
    let out = app
        .post(&format!("/rest/v1/orgs/{org}/changes"))
        .xml(&xml)
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(
        out.contains("<Op>Delete</Op>") && out.contains("<More>false</More>"),
        "{out}"
    );
    // Entities limits the feed.
    let only_contacts = app
        .post(&format!("/rest/v1/orgs/{org}/changes"))
        .json(&json!({"Entities": ["contact"]}))
        .send()
        .await
        .json();
    assert!(only_contacts["Changes"].as_array().unwrap().is_empty());
    app.post(&format!("/rest/v1/orgs/{org}/changes"))
        .json(&json!({"Entities": ["ghost"]}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "entity_not_found");
    app.post(&format!("/rest/v1/orgs/{org}/changes"))
        .json(&json!({"Since": "yesterday"}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_token");
    app.post(&format!("/rest/v1/orgs/{org}/changes"))
        .json(&json!({"Since": "999999"}))
        .send()
        .await
        .problem(StatusCode::GONE, "token_expired");
}

async fn filters_send_out_of_scope_records_as_deletes(app: TestApp) {
    let org = app.crm_org("contoso").await;
    upsert(
        &app,
        &org,
        "active",
        json!({"name": "Active", "statecode": 0}),
    )
    .await;
    upsert(
        &app,
        &org,
        "inactive",
        json!({"name": "Inactive", "statecode": 1}),
    )
    .await;
    upsert(
        &app,
        &org,
        "leaving",
        json!({"name": "Leaving", "statecode": 0}),
    )
    .await;
    let filter_xml = r#"<SyncFilters><Entity name="account"><filter><condition attribute="statecode" operator="eq" value="0"/></filter></Entity></SyncFilters>"#;
    let (initial, token) = app
        .all_changes(&org, None, json!({"SyncFiltersXml": filter_xml}))
        .await;
    assert_eq!(
        ids(&initial, "Upsert"),
        BTreeSet::from(["active".to_owned(), "leaving".to_owned()])
    );
    assert!(ids(&initial, "Delete").is_empty());

    upsert(&app, &org, "leaving", json!({"statecode": 1})).await;
    upsert(&app, &org, "inactive", json!({"statecode": 0})).await;
    upsert(
        &app,
        &org,
        "born-outside",
        json!({"name": "Never in scope", "statecode": 1}),
    )
    .await;
    let (changes, _) = app
        .all_changes(&org, Some(&token), json!({"SyncFiltersXml": filter_xml}))
        .await;
    let by_id: BTreeMap<&str, &Value> = changes
        .iter()
        .map(|c| (c["Id"].as_str().unwrap(), c))
        .collect();
    assert_eq!(by_id.len(), 2, "{changes:?}");
    assert_eq!(by_id["leaving"]["Op"], "Delete");
    assert_eq!(by_id["leaving"]["Reason"], "OutOfScope");
    assert_eq!(by_id["inactive"]["Op"], "Upsert");

    // The JSON form gives the same answer; so does the filter in CDATA inside an XML body.
    let json_filter = json!({"account": {"Type": "and", "Conditions": [{"Attribute": "statecode", "Operator": "eq", "Value": 0}]}});
    let (same, _) = app
        .all_changes(&org, Some(&token), json!({"SyncFilters": json_filter}))
        .await;
    assert_eq!(same, changes);
    let xml = format!("<ChangesRequest><Since>{token}</Since><SyncFiltersXml><![CDATA[{filter_xml}]]></SyncFiltersXml></ChangesRequest>");
    let out = app
        .post(&format!("/rest/v1/orgs/{org}/changes"))
        .xml(&xml)
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(out.contains("<Reason>OutOfScope</Reason>"), "{out}");
}

async fn bad_filters_name_entity_attribute_and_operator(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let path = format!("/rest/v1/orgs/{org}/changes");
    let bad = |attr: &str, op: &str, value: &str| {
        format!(
            r#"<SyncFilters><Entity name="account"><filter><condition attribute="{attr}" operator="{op}" value="{value}"/></filter></Entity></SyncFilters>"#
        )
    };
    let p = app
        .post(&path)
        .json(&json!({"SyncFiltersXml": bad("statecode", "like", "x%")}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    assert_eq!(
        (
            p["entity"].as_str(),
            p["attribute"].as_str(),
            p["operator"].as_str()
        ),
        (Some("account"), Some("statecode"), Some("like"))
    );
    let p = app
        .post(&path)
        .json(&json!({"SyncFiltersXml": bad("nope", "eq", "1")}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    assert_eq!(p["attribute"], "nope");
    let p = app
        .post(&path)
        .json(&json!({"SyncFiltersXml": bad("numberofemployees", "gt", "many")}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    assert_eq!(p["operator"], "gt");
    let unknown_element =
        r#"<SyncFilters><Entity name="account"><filter><sneaky/></filter></Entity></SyncFilters>"#;
    app.post(&path)
        .json(&json!({"SyncFiltersXml": unknown_element}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    let p = app
        .post(&path)
        .json(&json!({"SyncFilters": {"ghost": {"Conditions": []}}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
    assert_eq!(p["entity"], "ghost");
    app.post(&path)
        .json(&json!({"SyncFilters": {}, "SyncFiltersXml": "<SyncFilters/>"}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_filter");
}

async fn a_token_older_than_the_tombstone_horizon_is_gone(app: TestApp) {
    let org = app.crm_org("contoso").await;
    upsert(&app, &org, "a1", json!({"name": "One"})).await;
    upsert(&app, &org, "a2", json!({"name": "Two"})).await;
    let (_, token) = app.all_changes(&org, None, json!({})).await;
    app.delete(&format!("/rest/v1/orgs/{org}/entities/account/records/a1"))
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    // A zero retention makes every tombstone old enough to purge.
    assert_eq!(app.purge_tombstones_now().await, 1);
    app.post(&format!("/rest/v1/orgs/{org}/changes"))
        .json(&json!({"Since": token}))
        .send()
        .await
        .problem(StatusCode::GONE, "token_expired");
    // Reading from scratch still works and holds exactly the live records.
    let (fresh, new_token) = app.all_changes(&org, None, json!({})).await;
    assert_eq!(ids(&fresh, "Upsert"), BTreeSet::from(["a2".to_owned()]));
    app.post(&format!("/rest/v1/orgs/{org}/changes"))
        .json(&json!({"Since": new_token}))
        .send()
        .await
        .expect(StatusCode::OK);
}

both_backends!(
    the_feed_returns_each_change_once_in_version_order,
    filters_send_out_of_scope_records_as_deletes,
    bad_filters_name_entity_attribute_and_operator,
    a_token_older_than_the_tombstone_horizon_is_gone
);

/// Many writers commit in an order of their own while a reader follows the feed: the reader
/// must end with every write, none skipped. Against PostgreSQL this is where a version taken
/// from a plain sequence would be skipped when its transaction commits after a later one.
async fn concurrent_writers_are_never_skipped(app: TestApp) {
    let org = app.crm_org("busy").await;
    let writers = 8;
    let batches = 12;
    let path = format!("/rest/v1/orgs/{org}/batch");
    let write_all = futures_util::future::join_all((0..writers).map(|w| {
        let app = &app;
        let path = path.clone();
        async move {
            for b in 0..batches {
                let ops: Vec<_> = (0..5)
                    .map(|i| json!({"Op": "Upsert", "Entity": "account", "Id": format!("w{w}-b{b}-{i}"), "Attributes": {"name": "x"}}))
                    .collect();
                app.post(&path).json(&json!({"Operations": ops})).send().await.expect(StatusCode::OK);
            }
        }
    }));
    let read_along = async {
        let mut token: Option<String> = None;
        let mut seen = BTreeSet::new();
        let mut last_version = 0;
        for _ in 0..400 {
            let mut body = json!({"Limit": 7});
            if let Some(t) = &token {
                body["Since"] = json!(t);
            }
            let page = app
                .post(&format!("/rest/v1/orgs/{org}/changes"))
                .json(&body)
                .send()
                .await
                .expect(StatusCode::OK)
                .json();
            for c in page["Changes"].as_array().unwrap() {
                let v = c["Version"].as_i64().unwrap();
                assert!(v > last_version, "versions go forward");
                last_version = v;
                seen.insert(c["Id"].as_str().unwrap().to_owned());
            }
            token = Some(page["Next"].as_str().unwrap().to_owned());
            if seen.len() == writers * batches * 5 {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        (seen, token)
    };
    let (_, (seen_during, token)) = tokio::join!(write_all, read_along);
    // After the writers stop, one more read from the reader's token must bring the rest: if a
    // write had been skipped, it would never come.
    let (rest, _) = app.all_changes(&org, token.as_deref(), json!({})).await;
    let mut seen = seen_during;
    seen.extend(rest.iter().map(|c| c["Id"].as_str().unwrap().to_owned()));
    assert_eq!(seen.len(), writers * batches * 5);
}

#[actix_web::test]
#[cfg_attr(
    not(postgres_tests),
    ignore = "needs ORGSYNC_TEST_POSTGRES_URL at build time"
)]
async fn concurrent_writers_are_never_skipped_postgres() {
    let app = TestApp::postgres().await;
    concurrent_writers_are_never_skipped(app).await;
}

#[actix_web::test]
async fn concurrent_writers_are_never_skipped_sqlite() {
    concurrent_writers_are_never_skipped(TestApp::sqlite().await).await;
}
