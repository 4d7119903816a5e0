//! Every request-body example of the committed contract (`openapi/openapi.json`) works as
//! Swagger UI's "Try it out" sends it: run in the order of a whole sync, once in JSON and once
//! in XML, each gets a success status its operation documents.
//!
//! The examples tell one story: the server org `contoso` with its sync user, its `account`
//! entity and the records `a-17` to `a-19`, and the client org `fabrikam`, connected to it on
//! the same instance. Only what an example cannot know is put in at run time: the server's
//! address (`https://server.example` in the examples) and the ids the service makes (a job's,
//! a transaction's, a conflict's).

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::testkit::client::{Resp, FINISHED};
use crate::testkit::fixtures::crm_definition;
use crate::testkit::launch::TestApp;

const CONTRACT: &str = include_str!("../../openapi/openapi.json");
/// The server's address in the examples.
const EXAMPLE_SERVER: &str = "https://server.example";
/// The transaction id in the examples of `SetToPending` and `SetToArchived`.
const EXAMPLE_TRANSACTION: &str = "0b6e1c3a-58d2-4f0e-b7a4-2c9d8e1f6a35";

const SERVER: &[(&str, &str)] = &[("org", "contoso")];
const CLIENT: &[(&str, &str)] = &[("org", "fabrikam")];

/// Every request body the contract documents: (operation id, media type).
fn documented_bodies(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let Some(content) = op["requestBody"]["content"].as_object() else {
                continue;
            };
            for media in content.keys() {
                out.insert((
                    op["operationId"].as_str().unwrap().to_owned(),
                    media.clone(),
                ));
            }
        }
    }
    out
}

/// The examples of one media type, sent to one app.
struct Run<'a> {
    app: &'a TestApp,
    doc: Value,
    media: &'static str,
    ran: BTreeSet<(String, String)>,
}

impl<'a> Run<'a> {
    fn new(app: &'a TestApp, media: &'static str) -> Self {
        Self {
            app,
            doc: serde_json::from_str(CONTRACT).unwrap(),
            media,
            ran: BTreeSet::new(),
        }
    }

    /// Sends the example of `operation` to its path with `params` in place of the path's
    /// parameters and each `(example, actual)` of `swap` put in its body; asserts that the
    /// answer's status is one of the operation's documented successes and gives the answer.
    async fn example(
        &mut self,
        operation: &str,
        params: &[(&str, &str)],
        swap: &[(&str, &str)],
    ) -> Resp {
        let (path, method, op) = self.doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .iter()
                    .map(move |(method, op)| (path, method, op))
            })
            .find(|(_, _, op)| op["operationId"] == operation)
            .unwrap_or_else(|| panic!("the contract has no operation {operation}"));
        let example = &op["requestBody"]["content"][self.media]["example"];
        let mut body = match example {
            Value::Null => panic!("{operation} has no {} example", self.media),
            Value::String(xml) if self.media == "application/xml" => xml.clone(),
            other => other.to_string(),
        };
        for (from, to) in swap {
            assert!(body.contains(from), "{operation}: {from} is not in {body}");
            body = body.replace(from, to);
        }
        let mut concrete = path.clone();
        for (name, value) in params {
            concrete = concrete.replace(&format!("{{{name}}}"), value);
        }
        assert!(!concrete.contains('{'), "{operation}: {concrete}");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let res = self
            .app
            .req(method, &concrete)
            .raw(self.media, body.clone())
            .send()
            .await;
        let documented: Vec<&String> = op["responses"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|s| s.starts_with('2'))
            .collect();
        assert!(
            documented.contains(&&res.status.as_u16().to_string()),
            "{operation} in {}: {} (documented {documented:?})\n{body}\n{}",
            self.media,
            res.status,
            res.text()
        );
        self.ran
            .insert((operation.to_owned(), self.media.to_owned()));
        res
    }

    /// Sends the example of an operation that queues a job and waits for the job to end.
    async fn job(
        &mut self,
        operation: &str,
        params: &[(&str, &str)],
        swap: &[(&str, &str)],
    ) -> Value {
        let accepted = self.example(operation, params, swap).await.json();
        let id = accepted["JobId"].as_str().unwrap().to_owned();
        self.app.wait_job(&id, FINISHED, 60).await
    }
}

async fn account_status(app: &TestApp, org: &str, id: &str) -> StatusCode {
    app.get(&format!(
        "/rest/v1/orgs/{org}/entities/account/records/{id}"
    ))
    .send()
    .await
    .status
}

/// The story of the examples, in `media`, on `app`; gives the examples it ran.
async fn story(app: &TestApp, media: &'static str) -> BTreeSet<(String, String)> {
    let mut run = Run::new(app, media);
    // The server org, its sync user, and what it holds.
    run.example("create_org", &[], &[]).await;
    run.example("change_org", SERVER, &[]).await;
    run.example("create_user", SERVER, &[]).await;
    let token = run.example("token", &[], &[]).await.json();
    assert_eq!(token["TokenType"], "Bearer", "{token}");
    let account = [("org", "contoso"), ("entity", "account"), ("id", "a-17")];
    run.example("put_entity", &account[..2], &[]).await;
    for entity in ["contact", "task", "appointment"] {
        app.entity("contoso", entity, crm_definition(entity)).await;
    }
    run.example("create_record", &account[..2], &[]).await;
    run.example("replace_record", &account, &[]).await;
    run.example("update_record", &account, &[]).await;
    let changes = run.example("read_changes", SERVER, &[]).await.json();
    assert_eq!(
        changes["Changes"].as_array().map(Vec::len),
        Some(0),
        "a-17 is Inactive now: {changes}"
    );

    // The client org, connected to it.
    let base = app.base().to_owned();
    let job = run
        .job("connect_async", CLIENT, &[(EXAMPLE_SERVER, &base)])
        .await;
    assert_eq!(job["Status"], "Completed", "{job}");
    run.example("patch_connection", CLIENT, &[]).await;
    let job = run.job("sync_async", CLIENT, &[]).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        account_status(app, "fabrikam", "a-17").await,
        StatusCode::OK
    );

    // The server deletes a-17 and the client's next sync too; undone, it is back.
    run.example("batch", SERVER, &[]).await;
    let job = app.sync("fabrikam", json!({})).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert_eq!(
        account_status(app, "fabrikam", "a-17").await,
        StatusCode::NOT_FOUND
    );
    let id = job["JobId"].as_str().unwrap();
    let undone = run.example("undo_deletes", &[("id", id)], &[]).await.json();
    assert_eq!(undone["Restored"], 1, "{undone}");
    assert_eq!(
        account_status(app, "fabrikam", "a-17").await,
        StatusCode::OK
    );

    // Both sides change a-18: under the Manual policy the sync opens a conflict.
    for (org, name) in [
        ("fabrikam", "Fabrikam (client)"),
        ("contoso", "Fabrikam (server)"),
    ] {
        app.patch(&format!(
            "/rest/v1/orgs/{org}/entities/account/records/a-18"
        ))
        .json(&json!({"Attributes": {"name": name}}))
        .send()
        .await
        .expect(StatusCode::OK);
    }
    app.sync("fabrikam", json!({})).await;
    let conflicts = app
        .get("/rest/v1/sync/fabrikam/conflicts")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let conflict = conflicts["Conflicts"][0]["ConflictId"]
        .as_str()
        .unwrap_or_else(|| panic!("no conflict: {conflicts}"))
        .to_owned();
    run.example(
        "resolve_conflict",
        &[("org", "fabrikam"), ("id", &conflict)],
        &[],
    )
    .await;

    // A client write waits for the next sync: set aside, then queued again.
    app.patch("/rest/v1/orgs/fabrikam/entities/account/records/a-19")
        .json(&json!({"Attributes": {"name": "Northwind (client)"}}))
        .send()
        .await
        .expect(StatusCode::OK);
    let pending = app
        .get("/rest/v1/sync/fabrikam/transactions?Status=Pending")
        .send()
        .await
        .expect(StatusCode::OK)
        .json();
    let tx = pending["Transactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["RecordId"] == "a-19")
        .unwrap_or_else(|| panic!("no transaction of a-19: {pending}"))["TransactionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let swap = [(EXAMPLE_TRANSACTION, tx.as_str())];
    let archived = run.example("set_to_archived", CLIENT, &swap).await.json();
    assert_eq!(
        archived["Transactions"][0]["Status"], "Archived",
        "{archived}"
    );
    let pending = run.example("set_to_pending", CLIENT, &swap).await.json();
    assert_eq!(pending["Transactions"][0]["Status"], "Pending", "{pending}");

    // A snapshot, and a link's filter.
    let job = run.job("start_snapshot", CLIENT, &[]).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    run.example(
        "patch_link",
        &[("org", "fabrikam"), ("entity", "account")],
        &[],
    )
    .await;

    // What a filter keeps of the server's records, asked without moving them.
    let explained = run
        .example(
            "explain_link",
            &[("org", "fabrikam"), ("entity", "account")],
            &[],
        )
        .await
        .json();
    assert_eq!(
        (
            &explained["Records"][0]["InScope"],
            &explained["Records"][1]["Exists"]
        ),
        (&json!(false), &json!(false)),
        "a-17 is Inactive, a-99 does not exist: {explained}"
    );
    run.example("explain_org", SERVER, &[]).await;

    // Are both sides equal? Digests of id ranges say, without moving the records.
    let job = run.job("compare_async", CLIENT, &[]).await;
    assert_eq!(job["Status"], "Completed", "{job}");
    assert!(job["Summary"]["account"]["Server"].is_u64(), "{job}");
    let digests = run.example("digests_org", SERVER, &[]).await.json();
    let ranges = digests["Ranges"].as_array().unwrap();
    assert_eq!(ranges.len(), 2, "{digests}");
    assert!(
        ranges[0]["Pieces"]
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["Count"].as_u64() <= Some(2))),
        "pieces of 2 records: {digests}"
    );
    run.ran
}

async fn every_request_body_example_works(app: TestApp) {
    let mut ran = story(&app, "application/json").await;
    ran.append(&mut story(&app.another().await, "application/xml").await);
    let doc: Value = serde_json::from_str(CONTRACT).unwrap();
    let missing: Vec<_> = documented_bodies(&doc).difference(&ran).cloned().collect();
    assert!(missing.is_empty(), "examples never run: {missing:?}");
}

both_backends!(every_request_body_example_works);
