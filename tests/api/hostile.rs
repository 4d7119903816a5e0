//! A corpus of hostile requests against an org that holds records: each gets its problem,
//! the service keeps answering, and the org's records do not change.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::testkit::digest::digest;
use crate::testkit::fixtures::account_op;
use crate::testkit::launch::TestApp;
use crate::testkit::net::raw_request;

/// One hostile request and the problem it must get.
struct Case {
    what: &'static str,
    method: Method,
    path: String,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
    status: StatusCode,
    code: &'static str,
    /// A member the problem must hold, and what it must hold (a string it contains).
    member: Option<(&'static str, &'static str)>,
}

fn case(what: &'static str, method: Method, path: &str) -> Case {
    Case {
        what,
        method,
        path: path.to_owned(),
        content_type: None,
        body: Vec::new(),
        headers: Vec::new(),
        status: StatusCode::BAD_REQUEST,
        code: "",
        member: None,
    }
}

impl Case {
    fn json(mut self, body: &str) -> Self {
        self.content_type = Some("application/json");
        self.body = body.as_bytes().to_vec();
        self
    }
    fn xml(mut self, body: &[u8]) -> Self {
        self.content_type = Some("application/xml");
        self.body = body.to_vec();
        self
    }
    fn raw(mut self, content_type: &'static str, body: &[u8]) -> Self {
        self.content_type = Some(content_type);
        self.body = body.to_vec();
        self
    }
    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
    fn gets(mut self, status: StatusCode, code: &'static str) -> Self {
        self.status = status;
        self.code = code;
        self
    }
    fn naming(mut self, member: &'static str, text: &'static str) -> Self {
        self.member = Some((member, text));
        self
    }
}

/// `n` filter conditions on the account's name.
fn conditions(n: usize) -> Value {
    (0..n)
        .map(|i| json!({"Attribute": "name", "Operator": "eq", "Value": format!("n{i}")}))
        .collect()
}

fn corpus(org: &str) -> Vec<Case> {
    let records = format!("/rest/v1/orgs/{org}/entities/account/records");
    let record = format!("{records}/acc-1");
    let batch = format!("/rest/v1/orgs/{org}/batch");
    let changes = format!("/rest/v1/orgs/{org}/changes");
    let pending = format!("/rest/v1/sync/{org}/transactions/SetToPending");
    let oversized =
        json!({"Attributes": {"name": "Big", "description": "x".repeat(1024 * 1024)}}).to_string();
    let many_values: Vec<String> = (0..1001).map(|i| format!("v{i}")).collect();
    let (post, get, patch) = (Method::POST, Method::GET, Method::PATCH);
    use StatusCode as S;
    vec![
        // JSON that parsers read differently: a key named twice.
        case("duplicate key at the top", post.clone(), &records)
            .json(r#"{"Attributes": {"name": "A"}, "Attributes": {"name": "B"}}"#)
            .gets(S::BAD_REQUEST, "duplicate_key")
            .naming("path", "/Attributes"),
        case("duplicate key nested", post.clone(), &records)
            .json(r#"{"Attributes": {"name": "A", "description": "d", "name": "B"}}"#)
            .gets(S::BAD_REQUEST, "duplicate_key")
            .naming("path", "/Attributes/name"),
        case("duplicate key in a batch operation", post.clone(), &batch)
            .json(r#"{"Operations": [{"Op": "Upsert", "Entity": "account", "Id": "acc-1", "Attributes": {"name": "ok"}}, {"Op": "Upsert", "Entity": "account", "Id": "acc-2", "Id": "acc-3", "Attributes": {"name": "x"}}]}"#)
            .gets(S::BAD_REQUEST, "duplicate_key")
            .naming("path", "/Operations/1/Id"),
        case("duplicate key in a PATCH", patch.clone(), &record)
            .json(r#"{"Attributes": {"name": "A", "name": "B"}}"#)
            .gets(S::BAD_REQUEST, "duplicate_key")
            .naming("path", "/Attributes/name"),
        // A member of the wrong shape is named by its JSON Pointer, as a duplicate key is.
        case("an operation given as an array", post.clone(), &batch)
            .json(r#"{"Operations": [["Upsert", "account", "acc-1"]]}"#)
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_body")
            .naming("path", "/Operations/0"),
        case("a member of the wrong type", post.clone(), &records)
            .json(r#"{"Attributes": "name"}"#)
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_body")
            .naming("path", "/Attributes"),
        // Characters XML does not allow, written or as a reference.
        case("XML with a NUL byte", post.clone(), &records)
            .xml(b"<Record><Attributes><name>A\x00B</name></Attributes></Record>")
            .gets(S::BAD_REQUEST, "malformed_xml")
            .naming("detail", "U+0000"),
        // The XML reader refuses this reference itself, naming the character its own way.
        case("XML with &#0;", post.clone(), &records)
            .xml(b"<Record><Attributes><name>A&#0;B</name></Attributes></Record>")
            .gets(S::BAD_REQUEST, "malformed_xml")
            .naming("detail", "0x0 character is not permitted"),
        case("XML with &#x1; in escaped filters", post.clone(), &changes)
            .xml(br#"<ChangesRequest><SyncFiltersXml>&lt;SyncFilters&gt;&lt;Entity name="account&#x1;"/&gt;&lt;/SyncFilters&gt;</SyncFiltersXml></ChangesRequest>"#)
            .gets(S::BAD_REQUEST, "malformed_xml")
            .naming("detail", "U+0001"),
        case("XML with &#xFFFE;", patch.clone(), &record)
            .xml(b"<RecordPatch><Attributes><name>&#xFFFE;</name></Attributes></RecordPatch>")
            .gets(S::BAD_REQUEST, "malformed_xml")
            .naming("detail", "U+FFFE"),
        // Filters over their caps.
        case("257 filter conditions", post.clone(), &changes)
            .json(&json!({"SyncFilters": {"account": {"Conditions": conditions(257)}}}).to_string())
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_filter")
            .naming("detail", "256"),
        case("1001 values of an in", post.clone(), &changes)
            .json(&json!({"SyncFilters": {"account": {"Conditions": [{"Attribute": "name", "Operator": "in", "Values": many_values}]}}}).to_string())
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_filter")
            .naming("detail", "1000"),
        case("a filter value of 1001 characters", post.clone(), &changes)
            .json(&json!({"SyncFilters": {"account": {"Conditions": [{"Attribute": "description", "Operator": "eq", "Value": "v".repeat(1001)}]}}}).to_string())
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_filter")
            .naming("detail", "1000"),
        // Bounds.
        case("Limit=0 on records", get.clone(), &format!("{records}?Limit=0"))
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_limit")
            .naming("field", "Limit"),
        case("Limit=10001 on records", get.clone(), &format!("{records}?Limit=10001"))
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_limit"),
        case("Limit 0 on the feed", post.clone(), &changes)
            .json(r#"{"Limit": 0}"#)
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_limit"),
        case("Limit 10001 on the feed", post.clone(), &changes)
            .json(r#"{"Limit": 10001}"#)
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_limit"),
        case("Limit -1 on records", get.clone(), &format!("{records}?Limit=-1"))
            .gets(S::BAD_REQUEST, "invalid_query"),
        case("no ids", post.clone(), &pending)
            .json(r#"{"Ids": []}"#)
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_field")
            .naming("field", "Ids"),
        case("an oversized record", post.clone(), &records)
            .json(&oversized)
            .gets(S::PAYLOAD_TOO_LARGE, "record_too_large"),
        case("an oversized record by PATCH", patch.clone(), &record)
            .json(&oversized)
            .gets(S::PAYLOAD_TOO_LARGE, "record_too_large"),
        // Headers.
        case("a bad If-Match", patch.clone(), &record)
            .json(r#"{"Attributes": {"name": "If"}}"#)
            .header("If-Match", "not-an-etag")
            .gets(S::BAD_REQUEST, "invalid_if_match"),
        case("an empty Idempotency-Key", post.clone(), &batch)
            .json(&json!({"Operations": [account_op("acc-9", "Nine", 0)]}).to_string())
            .header("Idempotency-Key", "")
            .gets(S::BAD_REQUEST, "invalid_idempotency_key")
            .naming("field", "Idempotency-Key"),
        case("a 300-character Idempotency-Key", post.clone(), &batch)
            .json(&json!({"Operations": [account_op("acc-9", "Nine", 0)]}).to_string())
            .header("Idempotency-Key", &"k".repeat(300))
            .gets(S::BAD_REQUEST, "invalid_idempotency_key"),
        case("a bad cursor", get.clone(), &format!("{records}?Cursor=%%%"))
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_cursor")
            .naming("field", "Cursor"),
        // Unknown fields and shapes.
        case("an unknown member", post.clone(), &records)
            .json(r#"{"Attributes": {"name": "A"}, "Sneaky": true}"#)
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_body"),
        case("an unknown member of the feed", post.clone(), &changes)
            .json(r#"{"Bogus": 1}"#)
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_body"),
        case("an unknown XML element", post.clone(), &records)
            .xml(b"<Record><Attributes><name>A</name></Attributes><Sneaky/></Record>")
            .gets(S::UNPROCESSABLE_ENTITY, "invalid_body"),
        case("an unknown attribute", post.clone(), &records)
            .json(r#"{"Attributes": {"name": "A", "nope": 1}}"#)
            .gets(S::UNPROCESSABLE_ENTITY, "unknown_attribute"),
        case("an unknown query member", get.clone(), &format!("{records}?Bogus=1"))
            .gets(S::BAD_REQUEST, "invalid_query"),
        case("malformed JSON", post.clone(), &records)
            .json(r#"{"Attributes": {"name": "A""#)
            .gets(S::BAD_REQUEST, "malformed_body"),
        // Content types that are neither JSON nor XML.
        case("text/plain", post.clone(), &records)
            .raw("text/plain", br#"{"Attributes": {"name": "A"}}"#)
            .gets(S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        case("a form", post.clone(), &batch)
            .raw("application/x-www-form-urlencoded", b"Operations=1")
            .gets(S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        case("multipart", patch.clone(), &record)
            .raw("multipart/form-data; boundary=x", b"--x\r\n\r\nA\r\n--x--")
            .gets(S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        case("a bodyless write", post.clone(), &records)
            .gets(S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
    ]
}

/// What the org holds: its records and its change version.
async fn state_of(app: &TestApp, org: &str) -> (Value, std::collections::BTreeMap<String, Value>) {
    let version = app
        .get(&format!("/rest/v1/orgs/{org}"))
        .send()
        .await
        .expect(StatusCode::OK)
        .json()["Version"]
        .clone();
    (version, digest(app, org, "account").await)
}

async fn still_answers(app: &TestApp, after: &str) {
    let health = app.get("/healthz").try_send().await;
    assert!(
        health.is_ok_and(|h| h.status == StatusCode::OK),
        "/healthz stopped answering after {after}"
    );
}

async fn hostile_requests_get_problems_and_change_nothing(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let ops = (0..5)
        .map(|i| account_op(&format!("acc-{i}"), &format!("Account {i}"), 0))
        .collect();
    app.write_batch(&org, ops).await;
    let before = state_of(&app, &org).await;
    assert_eq!(before.1.len(), 5);
    for c in corpus(&org) {
        let mut req = app.req(c.method.clone(), &c.path);
        if let Some(t) = c.content_type {
            req = req.raw(t, c.body.clone());
        }
        for (name, value) in &c.headers {
            req = req.header(name, value);
        }
        let res = req.send().await;
        let status = res.status;
        let text = res.text();
        assert!(
            status == c.status,
            "{}: {status} {text} (expected {} {})",
            c.what,
            c.status,
            c.code
        );
        let p = res.problem(c.status, c.code);
        assert!(
            p["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{}: {p}",
            c.what
        );
        if let Some((member, wanted)) = c.member {
            let got = p[member].as_str().unwrap_or_default();
            assert!(got.contains(wanted), "{}: {member} is {p}", c.what);
        }
        still_answers(&app, c.what).await;
        assert_eq!(
            state_of(&app, &org).await,
            before,
            "{} changed the org",
            c.what
        );
    }
}

/// Requests actix-web's HTTP parser refuses before orgsync sees them: a bare 400 with no
/// body (the documented exception to "every error is a problem").
fn unparsable(org: &str) -> Vec<(&'static str, Vec<u8>)> {
    let long = format!(
        "GET /rest/v1/orgs/{org}/entities/account/records/{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(100_000)
    );
    let smuggled = format!(
        "POST /rest/v1/orgs/{org}/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"
    );
    vec![
        ("a 100 KB request URI", long.into_bytes()),
        (
            "a header with a bare CR",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Evil: a\rb\r\n\r\n".to_vec(),
        ),
        (
            "Transfer-Encoding with Content-Length",
            smuggled.into_bytes(),
        ),
    ]
}

async fn requests_the_parser_refuses_are_bare_400s(app: TestApp) {
    let org = app.crm_org("contoso").await;
    let ops = (0..3)
        .map(|i| account_op(&format!("acc-{i}"), &format!("Account {i}"), 0))
        .collect();
    app.write_batch(&org, ops).await;
    let before = state_of(&app, &org).await;
    for (what, request) in unparsable(&org) {
        let base = app.base().to_owned();
        let (status, body) =
            actix_web::rt::task::spawn_blocking(move || raw_request(&base, &request))
                .await
                .unwrap();
        assert_eq!(status, 400, "{what}: {}", String::from_utf8_lossy(&body));
        assert!(
            body.is_empty(),
            "{what}: {}",
            String::from_utf8_lossy(&body)
        );
        still_answers(&app, what).await;
        assert_eq!(state_of(&app, &org).await, before, "{what} changed the org");
    }
}

both_backends!(
    hostile_requests_get_problems_and_change_nothing,
    requests_the_parser_refuses_are_bare_400s
);
