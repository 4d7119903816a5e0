#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Tests of the XML bodies, by what they exercise: the parser and its refusals, the serde
//! deserializer, and the writer.

mod parse;
mod serde_de;
mod write;

use super::*;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

pub(super) fn doc(xml: &str) -> Element {
    parse(xml.as_bytes(), DEFAULT_MAX_DEPTH).expect("document should parse")
}

pub(super) fn de<T: serde::de::DeserializeOwned>(xml: &str) -> Result<T, DeError> {
    from_element(&doc(xml))
}

pub(super) fn code_of(xml: &[u8]) -> &'static str {
    parse(xml, DEFAULT_MAX_DEPTH)
        .expect_err("document should be refused")
        .code()
        .as_str()
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) enum SyncMode {
    Mirror,
    OneWay,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct SyncSetup {
    entities: Vec<String>,
    #[serde(default)]
    mode: Option<SyncMode>,
    #[serde(default)]
    include_deleted: Option<bool>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct ConnectRequest {
    org_name: String,
    sync_setup: SyncSetup,
    #[serde(default)]
    limit: Option<u32>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct Operation {
    op: String,
    entity: String,
    #[serde(default)]
    attributes: Option<serde_json::Value>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(super) struct Batch {
    operations: Vec<Operation>,
}
