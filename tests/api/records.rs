use reqwest::StatusCode;
use serde_json::json;

use crate::testkit::launch::TestApp;

async fn records_crud_with_versions_and_etags(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let base = format!("/rest/v1/orgs/{org}/entities/account/records");
    let res = app
        .post(&base)
        .json(&json!({"Attributes": {
            "name": "Contoso", "numberofemployees": 12, "revenue": 1000.5, "creditonhold": false,
            "lastcontacted": "2026-01-02T03:04:05+01:00", "founded": "1999-12-31", "statecode": 0,
            "externalid": "0190F5C2-7A3B-7C1D-8E2F-123456789ABC"
        }}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    let created = res.json();
    let id = created["Id"].as_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    let version = created["Version"].as_i64().unwrap();
    assert_eq!(res.header("etag"), Some(format!("\"{version}\"")));
    assert_eq!(res.header("location"), Some(format!("{base}/{id}")));
    assert_eq!(
        created["Attributes"]["lastcontacted"],
        "2026-01-02T02:04:05Z"
    );
    assert_eq!(
        created["Attributes"]["externalid"],
        "0190f5c2-7a3b-7c1d-8e2f-123456789abc"
    );

    let got = app
        .get(&format!("{base}/{id}"))
        .send()
        .await
        .expect(StatusCode::OK);
    assert_eq!(got.header("etag"), Some(format!("\"{version}\"")));
    assert_eq!(got.json()["Attributes"], created["Attributes"]);

    // PATCH changes only what it names; null clears.
    let patched = app
        .patch(&format!("{base}/{id}"))
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({"Attributes": {"numberofemployees": 13, "revenue": null}}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(patched["Attributes"]["numberofemployees"], 13);
    assert_eq!(patched["Attributes"]["name"], "Contoso");
    assert!(patched["Attributes"].get("revenue").is_none());
    let v2 = patched["Version"].as_i64().unwrap();
    assert!(v2 > version);

    // A stale If-Match is 412 and changes nothing.
    app.patch(&format!("{base}/{id}"))
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({"Attributes": {"name": "Lost update"}}))
        .send()
        .await
        .problem(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    app.delete(&format!("{base}/{id}"))
        .header("If-Match", &format!("\"{version}\""))
        .send()
        .await
        .problem(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    let now = app
        .get(&format!("{base}/{id}"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(now["Attributes"]["name"], "Contoso");
    assert_eq!(now["Version"], v2);

    // PUT replaces everything, in XML; the body may carry the read-only fields back.
    let xml = format!("<Record><Id>{id}</Id><Entity>account</Entity><Version>{v2}</Version>\
        <Attributes><name>Contoso &amp; Co</name><numberofemployees>14</numberofemployees><creditonhold>true</creditonhold></Attributes></Record>");
    let put = app
        .put(&format!("{base}/{id}"))
        .header("If-Match", &format!("W/\"{v2}\""))
        .xml(&xml)
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK);
    let text = put.text();
    assert!(
        text.contains("<name>Contoso &amp; Co</name>")
            && text.contains("<numberofemployees>14</numberofemployees>"),
        "{text}"
    );
    assert!(
        !text.contains("<founded>"),
        "PUT replaces every attribute: {text}"
    );
    let json_now = app
        .get(&format!("{base}/{id}"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(
        json_now["Attributes"]["creditonhold"], true,
        "XML text becomes a typed value"
    );

    // Create, read and change in XML.
    let made = app.post(&base).xml("<Record><Id>xml-1</Id><Attributes><name>From XML</name><revenue>2.5</revenue><statecode>1</statecode></Attributes></Record>")
        .accept_xml().send().await.expect(StatusCode::CREATED);
    assert!(made.header("etag").is_some());
    assert!(
        made.text().contains("<Id>xml-1</Id>") && made.text().contains("<revenue>2.5</revenue>"),
        "{}",
        made.text()
    );
    let read = app
        .get(&format!("{base}/xml-1"))
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(
        read.contains("<Record><Id>xml-1</Id><Entity>account</Entity>"),
        "{read}"
    );
    let changed = app
        .patch(&format!("{base}/xml-1"))
        .xml("<Record><Attributes><statecode>0</statecode></Attributes></Record>")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(
        changed.contains("<statecode>0</statecode>") && changed.contains("<name>From XML</name>"),
        "{changed}"
    );
    let typed = app.get(&format!("{base}/xml-1")).send().await.json();
    assert_eq!(
        typed["Attributes"],
        json!({"name": "From XML", "revenue": 2.5, "statecode": 0})
    );

    // PUT on a new id creates; If-Match * on a missing one is 412.
    app.put(&format!("{base}/acct-2"))
        .json(&json!({"Attributes": {"name": "Second"}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    app.put(&format!("{base}/acct-3"))
        .header("If-Match", "*")
        .json(&json!({"Attributes": {"name": "Third"}}))
        .send()
        .await
        .problem(StatusCode::PRECONDITION_FAILED, "precondition_failed");
    app.post(&base)
        .json(&json!({"Id": "acct-2", "Attributes": {"name": "Dup"}}))
        .send()
        .await
        .problem(StatusCode::CONFLICT, "record_exists");

    app.delete(&format!("{base}/{id}"))
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get(&format!("{base}/{id}"))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "record_not_found");
    app.delete(&format!("{base}/{id}"))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "record_not_found");
    app.patch(&format!("{base}/{id}"))
        .json(&json!({"Attributes": {}}))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "record_not_found");
}

async fn pages_are_stable_and_complete(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let ops: Vec<_> = (0..25).map(|i| json!({"Op": "Upsert", "Entity": "account", "Id": format!("a{i:02}"), "Attributes": {"name": format!("N{i}")}})).collect();
    app.post(&format!("/rest/v1/orgs/{org}/batch"))
        .json(&json!({"Operations": ops}))
        .send()
        .await
        .expect(StatusCode::OK);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/rest/v1/orgs/{org}/entities/account/records?Limit=10&Cursor={c}"),
            None => format!("/rest/v1/orgs/{org}/entities/account/records?Limit=10"),
        };
        let page = app.get(&path).send().await.expect(StatusCode::OK).json();
        seen.extend(
            page["Records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["Id"].as_str().unwrap().to_owned()),
        );
        match page.get("Next").and_then(|n| n.as_str()) {
            Some(n) => cursor = Some(n.to_owned()),
            None => break,
        }
        // A write in the middle of paging neither repeats nor skips the rest.
        if seen.len() == 10 {
            app.patch(&format!("/rest/v1/orgs/{org}/entities/account/records/a03"))
                .json(&json!({"Attributes": {"name": "moved"}}))
                .send()
                .await
                .expect(StatusCode::OK);
        }
    }
    let expected: Vec<String> = (0..25).map(|i| format!("a{i:02}")).collect();
    assert_eq!(seen, expected);
    let xml = app
        .get(&format!(
            "/rest/v1/orgs/{org}/entities/account/records?Limit=2"
        ))
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(
        xml.contains("<RecordPage><Records><Record><Id>a00</Id>") && xml.contains("<Next>"),
        "{xml}"
    );
    app.get(&format!(
        "/rest/v1/orgs/{org}/entities/account/records?Limit=0"
    ))
    .send()
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit");
    app.get(&format!(
        "/rest/v1/orgs/{org}/entities/account/records?Cursor=@@@"
    ))
    .send()
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_cursor");
}

async fn writes_are_validated_against_the_metadata(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let base = format!("/rest/v1/orgs/{org}/entities/account/records");
    let cases = [
        (
            json!({"name": "ok", "bogus": 1}),
            "bogus",
            "unknown_attribute",
        ),
        (json!({"name": 42}), "name", "invalid_attribute_value"),
        (
            json!({"name": "ok", "numberofemployees": "12"}),
            "numberofemployees",
            "invalid_attribute_value",
        ),
        (
            json!({"name": "ok", "numberofemployees": 1.5}),
            "numberofemployees",
            "invalid_attribute_value",
        ),
        (
            json!({"name": "ok", "creditonhold": "yes"}),
            "creditonhold",
            "invalid_attribute_value",
        ),
        (
            json!({"name": "ok", "lastcontacted": "yesterday"}),
            "lastcontacted",
            "invalid_attribute_value",
        ),
        (
            json!({"name": "ok", "founded": "2026-02-30"}),
            "founded",
            "invalid_attribute_value",
        ),
        (
            json!({"name": "ok", "externalid": "not-a-uuid"}),
            "externalid",
            "invalid_attribute_value",
        ),
        (
            json!({"name": "ok", "statecode": 5}),
            "statecode",
            "invalid_option",
        ),
        (
            json!({"name": "x".repeat(161)}),
            "name",
            "attribute_too_long",
        ),
        (
            json!({"emailaddress1": "a@b.example"}),
            "name",
            "missing_required_attribute",
        ),
    ];
    for (attributes, attribute, code) in cases {
        let p = app
            .post(&base)
            .json(&json!({"Attributes": attributes}))
            .send()
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, code);
        assert_eq!(p["attribute"], attribute, "{p}");
        assert_eq!(p["entity"], "account");
    }
    let xml = "<Record><Attributes><name>ok</name><numberofemployees>many</numberofemployees></Attributes></Record>";
    let p = app
        .post(&base)
        .xml(xml)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_attribute_value");
    assert_eq!(p["attribute"], "numberofemployees");
    app.post(&format!("/rest/v1/orgs/{org}/entities/nothing/records"))
        .json(&json!({"Attributes": {}}))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "entity_not_found");
    app.post(&base)
        .json(&json!({"Id": "bad id", "Attributes": {"name": "x"}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_name");
    // A required attribute cannot be cleared by PATCH.
    let rec = app
        .create_record(&org, "account", json!({"name": "Keep"}))
        .await;
    let id = rec["Id"].as_str().unwrap();
    let p = app
        .patch(&format!("{base}/{id}"))
        .json(&json!({"Attributes": {"name": null}}))
        .send()
        .await
        .problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_required_attribute",
        );
    assert_eq!(p["attribute"], "name");
    // Nothing of the refused writes was stored.
    let page = app.get(&base).send().await.expect(StatusCode::OK).json();
    assert_eq!(page["Records"].as_array().unwrap().len(), 1);
    assert_eq!(page["Records"][0]["Attributes"], json!({"name": "Keep"}));
}

both_backends!(
    records_crud_with_versions_and_etags,
    pages_are_stable_and_complete,
    writes_are_validated_against_the_metadata
);
