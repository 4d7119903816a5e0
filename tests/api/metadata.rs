use orgsync::auth::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::testkit::fixtures::account_definition;
use crate::testkit::launch::TestApp;

async fn entities_are_defined_read_and_dropped(app: TestApp) {
    let org = app.org("contoso").await;
    let res = app
        .put(&format!("/rest/v1/orgs/{org}/metadata/entities/account"))
        .json(&account_definition())
        .send()
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(res.json()["PrimaryKey"], "accountid");
    let meta = app
        .get(&format!("/rest/v1/orgs/{org}/metadata"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(meta["Version"], 1);
    let account = &meta["Entities"][0];
    assert_eq!(account["Name"], "account");
    assert_eq!(account["PrimaryName"], "name");
    let statecode = account["Attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "statecode")
        .unwrap();
    assert_eq!(statecode["Type"], "Picklist");
    assert_eq!(
        statecode["Options"][1],
        json!({"Value": 1, "Label": "Inactive"})
    );

    // Redefinition in XML, 200, and the version moves.
    let xml = "<EntityDefinitionInput><PrimaryName>name</PrimaryName><Attributes>\
               <Attribute><Name>name</Name><Type>String</Type><Required>true</Required><MaxLength>50</MaxLength></Attribute>\
               <Attribute><Name>statecode</Name><Type>Picklist</Type><Options><Option><Value>0</Value></Option></Options></Attribute>\
               </Attributes></EntityDefinitionInput>";
    let res = app
        .put(&format!("/rest/v1/orgs/{org}/metadata/entities/account"))
        .xml(xml)
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK);
    assert!(
        res.text().contains("<MaxLength>50</MaxLength>"),
        "{}",
        res.text()
    );
    let meta = app
        .get(&format!("/rest/v1/orgs/{org}/metadata"))
        .accept_xml()
        .send()
        .await
        .expect(StatusCode::OK)
        .text();
    assert!(
        meta.contains("<Version>2</Version>")
            && meta.contains("<Entities><Entity><Name>account</Name>"),
        "{meta}"
    );

    app.create_record(&org, "account", json!({"name": "Doomed"}))
        .await;
    app.delete(&format!("/rest/v1/orgs/{org}/metadata/entities/account"))
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get(&format!("/rest/v1/orgs/{org}/entities/account/records"))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "entity_not_found");
    app.delete(&format!("/rest/v1/orgs/{org}/metadata/entities/account"))
        .send()
        .await
        .problem(StatusCode::NOT_FOUND, "entity_not_found");
}

async fn bad_definitions_name_the_attribute_and_change_nothing(app: TestApp) {
    let org = app.org("contoso").await;
    app.entity(&org, "account", account_definition()).await;
    let cases = [
        (
            json!({"Attributes": [{"Name": "a", "Type": "Lookup"}]}),
            "a",
        ),
        (
            json!({"Attributes": [{"Name": "a", "Type": "Picklist"}]}),
            "a",
        ),
        (
            json!({"Attributes": [{"Name": "a", "Type": "Integer", "MaxLength": 3}]}),
            "a",
        ),
        (
            json!({"Attributes": [{"Name": "a", "Type": "String"}, {"Name": "a", "Type": "Memo"}]}),
            "a",
        ),
        (
            json!({"Attributes": [{"Name": "accountid", "Type": "String"}]}),
            "accountid",
        ),
        (json!({"PrimaryName": "nope", "Attributes": []}), "nope"),
    ];
    for (body, attribute) in cases {
        let p = app
            .put(&format!("/rest/v1/orgs/{org}/metadata/entities/account"))
            .json(&body)
            .send()
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_definition");
        assert_eq!(p["attribute"], attribute, "{p}");
    }
    app.put(&format!("/rest/v1/orgs/{org}/metadata/entities/account"))
        .json(&json!({"Attributes": [{"Name": "a", "Type": "Text"}]}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    app.put(&format!("/rest/v1/orgs/{org}/metadata/entities/Bad-Name"))
        .json(&json!({"Attributes": []}))
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_name");
    let meta = app
        .get(&format!("/rest/v1/orgs/{org}/metadata"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(meta["Version"], 1, "nothing was stored");
    assert_eq!(
        meta["Entities"][0]["Attributes"].as_array().unwrap().len(),
        11
    );
    // Only admins define entities.
    let user = app.token(Role::OrgUser, &org).await;
    app.put(&format!("/rest/v1/orgs/{org}/metadata/entities/thing"))
        .bearer(&user)
        .json(&json!({"Attributes": []}))
        .send()
        .await
        .problem(StatusCode::FORBIDDEN, "forbidden");
}

/// What GET gives is what PUT takes: a definition read, changed and put back round-trips, and
/// a new one answers where it is.
async fn a_definition_round_trips_from_get_to_put(app: TestApp) {
    let org = app.org("contoso").await;
    let res = app
        .put(&format!("/rest/v1/orgs/{org}/metadata/entities/account"))
        .json(&account_definition())
        .send()
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        res.header("location").as_deref(),
        Some("/rest/v1/orgs/contoso/metadata/entities/account")
    );
    let mut account = app
        .get(&format!("/rest/v1/orgs/{org}/metadata"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json()["Entities"][0]
        .clone();
    assert_eq!(account["Name"], "account");
    account["DisplayName"] = json!("Customer");
    let again = app
        .put(&format!("/rest/v1/orgs/{org}/metadata/entities/account"))
        .json(&account)
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    assert_eq!(again["DisplayName"], "Customer");
    assert_eq!(again["Attributes"], account["Attributes"]);
    // Another name in the body than in the path is refused, and changes nothing.
    account["Name"] = json!("contact");
    app.put(&format!("/rest/v1/orgs/{org}/metadata/entities/account"))
        .json(&account)
        .send()
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_definition");
    let meta = app
        .get(&format!("/rest/v1/orgs/{org}/metadata"))
        .send()
        .await
        .json();
    assert_eq!(meta["Entities"].as_array().unwrap().len(), 1);
    assert_eq!(meta["Entities"][0]["DisplayName"], "Customer");
}

both_backends!(
    a_definition_round_trips_from_get_to_put,
    entities_are_defined_read_and_dropped,
    bad_definitions_name_the_attribute_and_change_nothing
);
