use reqwest::StatusCode;
use serde_json::json;

use crate::testkit::launch::TestApp;

async fn a_batch_gives_one_result_per_operation(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let path = format!("/rest/v1/orgs/{org}/batch");
    let body = json!({"Operations": [
        {"Op": "Upsert", "Entity": "account", "Id": "a1", "Attributes": {"name": "One"}},
        {"Op": "Upsert", "Entity": "account", "Id": "a2", "Attributes": {"name": 2}},
        {"Op": "Upsert", "Entity": "account", "Id": "a1", "Attributes": {"numberofemployees": 5}},
        {"Op": "Delete", "Entity": "account", "Id": "missing"},
        {"Op": "Upsert", "Entity": "ghost", "Id": "g1", "Attributes": {}},
        {"Op": "Upsert", "Entity": "contact", "Id": "c1", "Attributes": {"fullname": "Ada", "parentcustomerid": "a1"}},
        {"Op": "Upsert", "Entity": "account", "Id": "a1", "IfVersion": 1, "Attributes": {"name": "stale"}}
    ]});
    let res = app
        .post(&path)
        .json(&body)
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let statuses: Vec<i64> = res["Results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 422, 200, 404, 404, 201, 412]);
    assert_eq!(res["Results"][1]["Error"]["attribute"], "name");
    assert_eq!(res["Results"][4]["Error"]["code"], "entity_not_found");
    let a1 = app
        .get(&format!("/rest/v1/orgs/{org}/entities/account/records/a1"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(
        a1["Attributes"],
        json!({"name": "One", "numberofemployees": 5})
    );
    assert_eq!(a1["Version"], res["Results"][2]["Version"]);
    app.get(&format!("/rest/v1/orgs/{org}/entities/account/records/a2"))
        .send()
        .await
        .expect(StatusCode::NOT_FOUND);

    // XML in and out.
    let xml = "<BatchRequest><Operations>\
        <Operation><Op>Upsert</Op><Entity>account</Entity><Id>x1</Id><Attributes><name>Ex</name><numberofemployees>3</numberofemployees></Attributes></Operation>\
        <Operation><Op>Delete</Op><Entity>account</Entity><Id>a1</Id></Operation>\
        </Operations></BatchRequest>";
    let out = app
        .post(&path)
        .xml(xml)
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(
        out.contains("<Results><Result><Index>0</Index><Op>Upsert</Op>")
            && out.contains("<Status>204</Status>"),
        "{out}"
    );
    let x1 = app
        .get(&format!("/rest/v1/orgs/{org}/entities/account/records/x1"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(x1["Attributes"]["numberofemployees"], 3);
}

async fn an_idempotency_key_makes_a_replay_harmless(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let path = format!("/rest/v1/orgs/{org}/batch");
    let body = json!({"Operations": [
        {"Op": "Upsert", "Entity": "account", "Id": "a1", "Attributes": {"name": "One"}},
        {"Op": "Upsert", "Entity": "account", "Id": "a2", "Attributes": {"name": "Two"}}
    ]});
    let first = app
        .post(&path)
        .header("Idempotency-Key", "k-1")
        .json(&body)
        .send()
        .await
        .expect(StatusCode::OK);
    let org_before = app.get(&format!("/rest/v1/orgs/{org}")).send().await.json();
    let again = app
        .post(&path)
        .header("Idempotency-Key", "k-1")
        .json(&body)
        .send()
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        again.json(),
        first.json(),
        "a replay returns the stored response"
    );
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    let org_after = app.get(&format!("/rest/v1/orgs/{org}")).send().await.json();
    assert_eq!(
        org_after["Version"], org_before["Version"],
        "nothing was applied twice"
    );
    // The same key with another body is refused; another org may use the same key.
    let other = json!({"Operations": [{"Op": "Delete", "Entity": "account", "Id": "a1"}]});
    app.post(&path)
        .header("Idempotency-Key", "k-1")
        .json(&other)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    app.get(&format!("/rest/v1/orgs/{org}/entities/account/records/a1"))
        .send()
        .await
        .expect(StatusCode::OK);
    let second = app.crm_org("second").await;
    app.post(&format!("/rest/v1/orgs/{second}/batch"))
        .header("Idempotency-Key", "k-1")
        .json(&other)
        .send()
        .await
        .expect(StatusCode::OK);
    // Concurrent replays of one key still apply once.
    let body3 = json!({"Operations": [{"Op": "Upsert", "Entity": "account", "Id": "a3", "Attributes": {"name": "Three"}}]});
    let sends = (0..6).map(|_| {
        app.post(&path)
            .header("Idempotency-Key", "k-race")
            .json(&body3)
            .send()
    });
    let results = futures_util::future::join_all(sends).await;
    let versions: Vec<_> = results
        .iter()
        .map(|r| r.json()["Results"][0]["Version"].clone())
        .collect();
    assert!(versions.iter().all(|v| *v == versions[0]), "{versions:?}");
    let a3 = app
        .get(&format!("/rest/v1/orgs/{org}/entities/account/records/a3"))
        .send()
        .await
        .json();
    assert_eq!(a3["Version"], versions[0]);
}

both_backends!(
    a_batch_gives_one_result_per_operation,
    an_idempotency_key_makes_a_replay_harmless
);
