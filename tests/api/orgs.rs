use orgsync::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::testkit::fixtures::{account_definition, contact_definition};
use crate::testkit::launch::TestApp;

async fn orgs_are_created_listed_read_and_deleted(app: TestApp) {
    let body = json!({
        "Name": "contoso",
        "DisplayName": "Contoso Ltd",
        "RegistrationInfo": {"Email": "admin@contoso.example", "FirstName": "Ada", "LastName": "Lovelace", "Company": "Contoso"},
        "Quotas": {"MaxRecords": 10, "Entities": {"account": 1}}
    });
    let res = app
        .post("/rest/v1/orgs")
        .json(&body)
        .send()
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        res.header("location").as_deref(),
        Some("/rest/v1/orgs/contoso")
    );
    let org = res.json();
    assert_eq!(org["RegistrationInfo"]["FirstName"], "Ada");
    assert_eq!(org["Quotas"]["Entities"]["account"], 1);
    app.post("/rest/v1/orgs")
        .json(&body)
        .send()
        .await
        .problem(StatusCode::CONFLICT, "org_exists");

    // XML in, XML out.
    let xml = "<CreateOrg><Name>fabrikam</Name><RegistrationInfo><Email>a@fabrikam.example</Email></RegistrationInfo>\
               <Quotas><MaxRecords>5</MaxRecords></Quotas></CreateOrg>";
    let res = app
        .post("/rest/v1/orgs")
        .xml(xml)
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::CREATED);
    assert!(res.content_type().starts_with("application/xml"));
    let text = res.text();
    assert!(
        text.contains("<Name>fabrikam</Name>") && text.contains("<MaxRecords>5</MaxRecords>"),
        "{text}"
    );

    let page = app
        .get("/rest/v1/orgs?Limit=1")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(page["Orgs"][0]["Name"], "contoso");
    let next = page["Next"].as_str().unwrap();
    let page2 = app
        .get(&format!("/rest/v1/orgs?Limit=1&Cursor={next}"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(page2["Orgs"][0]["Name"], "fabrikam");
    assert!(page2.get("Next").is_none());
    let xml_list = app
        .get("/rest/v1/orgs")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(
        xml_list.contains("<Orgs><Org><Name>contoso</Name>"),
        "{xml_list}"
    );

    app.get("/rest/v1/orgs/contoso")
        .send()
        .await
        .expect(StatusCode::OK);
    let one = app
        .get("/rest/v1/orgs/fabrikam")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(
        one.starts_with("<?xml") && one.contains("<Org><Name>fabrikam</Name>"),
        "{one}"
    );
    app.delete("/rest/v1/orgs/contoso")
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get("/rest/v1/orgs/contoso")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
    app.delete("/rest/v1/orgs/contoso")
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
}

async fn usage_reports_quota_overuse(app: TestApp) {
    app.post("/rest/v1/orgs")
        .json(&json!({"Name": "small", "Quotas": {"MaxRecords": 3, "Entities": {"account": 1}}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    app.entity("small", "account", account_definition()).await;
    app.entity("small", "contact", contact_definition()).await;
    app.create_record("small", "account", json!({"name": "A"}))
        .await;
    let usage = app
        .get("/rest/v1/orgs/small/usage")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(usage["OverQuota"], false);
    // Writes are never refused over quota; the overuse is reported.
    app.create_record("small", "account", json!({"name": "B"}))
        .await;
    app.create_record("small", "contact", json!({"fullname": "C"}))
        .await;
    let usage = app
        .get("/rest/v1/orgs/small/usage")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(usage["Records"], 3);
    assert_eq!(usage["OverQuota"], true);
    let account = usage["Entities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["Entity"] == "account")
        .unwrap()
        .clone();
    assert_eq!(
        account,
        json!({"Entity": "account", "Records": 2, "Quota": 1, "OverQuota": true})
    );
    let xml = app
        .get("/rest/v1/orgs/small/usage")
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(xml.contains("<OverQuota>true</OverQuota>"), "{xml}");
}

/// An org's display name, registration info and quotas change after it was created; quotas
/// are the provider's to change.
async fn an_org_changes_after_it_was_created(app: TestApp) {
    app.post("/rest/v1/orgs")
        .json(&json!({"Name": "contoso", "DisplayName": "Contoso", "Quotas": {"MaxRecords": 10}}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    let org = app
        .patch("/rest/v1/orgs/contoso")
        .json(
            &json!({"Quotas": {"MaxRecords": 100, "Entities": {"account": 50}},
                      "RegistrationInfo": {"Company": "Contoso Group"}}),
        )
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(org["Quotas"]["MaxRecords"], 100, "{org}");
    assert_eq!(org["Quotas"]["Entities"]["account"], 50);
    assert_eq!(org["RegistrationInfo"]["Company"], "Contoso Group");
    assert_eq!(org["DisplayName"], "Contoso", "left as it was");
    let usage = app.get("/rest/v1/orgs/contoso/usage").send().await.json();
    assert_eq!(usage["MaxRecords"], 100, "{usage}");
    // In XML; null (xsi:nil) clears.
    let res = app
        .patch("/rest/v1/orgs/contoso")
        .xml("<OrgPatch xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><DisplayName>Contoso Group</DisplayName><Quotas xsi:nil=\"true\"/></OrgPatch>")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(res["DisplayName"], "Contoso Group");
    assert!(res.get("Quotas").is_none(), "{res}");
    // An org admin changes the name, not the quotas; a bad value changes nothing.
    let admin = app.token(Role::OrgAdmin, "contoso").await;
    app.patch("/rest/v1/orgs/contoso")
        .bearer(&admin)
        .json(&json!({"Quotas": {"MaxRecords": 1000000}}))
        .send()
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
    app.patch("/rest/v1/orgs/contoso")
        .bearer(&admin)
        .json(&json!({"DisplayName": "x".repeat(300)}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field");
    let org = app
        .patch("/rest/v1/orgs/contoso")
        .bearer(&admin)
        .json(&json!({"DisplayName": null}))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert!(org.get("DisplayName").is_none(), "{org}");
    // A quota past what the contract's int64 holds is refused, in a POST as in a PATCH.
    let too_many = json!(9_223_372_036_854_775_808_u64);
    let problem = app
        .patch("/rest/v1/orgs/contoso")
        .json(&json!({"Quotas": {"MaxRecords": too_many}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert!(
        problem["detail"].as_str().unwrap().contains("MaxRecords"),
        "{problem}"
    );
    assert_eq!(problem["path"], "/Quotas/MaxRecords", "{problem}");
    // An object given as an array of its members is refused too.
    let problem = app
        .patch("/rest/v1/orgs/contoso")
        .json(&json!({"Quotas": [null, null]}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert_eq!(problem["path"], "/Quotas", "{problem}");
    app.post("/rest/v1/orgs")
        .json(&json!({"Name": "huge", "Quotas": {"Entities": {"account": too_many}}}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    let org = app.get("/rest/v1/orgs/contoso").send().await.json();
    assert!(org.get("Quotas").is_none(), "unchanged: {org}");
    app.patch("/rest/v1/orgs/nosuch")
        .json(&json!({"DisplayName": "x"}))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "org_not_found");
}

both_backends!(
    an_org_changes_after_it_was_created,
    orgs_are_created_listed_read_and_deleted,
    usage_reports_quota_overuse
);
