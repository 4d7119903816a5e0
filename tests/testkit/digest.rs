//! An order-independent view of an entity's records, to compare a client with its server.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::Value;

use super::client::Client;

/// Every live record of `entity` in `org`, read page by page: id → its attributes. Two orgs
/// hold the same records when their digests are equal, whatever order they were written in.
pub async fn digest(app: &Client, org: &str, entity: &str) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/rest/v1/orgs/{org}/entities/{entity}/records?Limit=1000");
        if let Some(c) = &cursor {
            path.push_str(&format!("&Cursor={c}"));
        }
        let page = app.get(&path).send().await.expect(StatusCode::OK).json();
        for r in page["Records"].as_array().unwrap() {
            out.insert(
                r["Id"].as_str().unwrap().to_owned(),
                r["Attributes"].clone(),
            );
        }
        match page.get("Next").and_then(Value::as_str) {
            Some(n) => cursor = Some(n.to_owned()),
            None => return out,
        }
    }
}
