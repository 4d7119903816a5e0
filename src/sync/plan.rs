//! What one server change comes to on the client, worked out without I/O from the change and
//! the client's current row: a write, a delete for the delete guard to count, nothing (already
//! equal), a local-only record kept, a skip with its reason, or a failure naming what is wrong.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::db::records::{self, Precondition, StoredText, WriteKind, WriteOp};
use crate::domain::digest::record_digest;
use crate::domain::error;
use crate::domain::metadata::EntityDef;
use crate::domain::names::RecordId;
use crate::domain::record::{check_required, normalize, normalize_owned, Source, WithoutNulls};
use crate::domain::setup::SyncMode;
use crate::providers::RemoteChange;
use crate::wire::changes::ChangeOp;

/// What one server change comes to on the client.
#[derive(Debug, Clone)]
pub enum Plan {
    Write(WriteOp),
    /// A deletion, staged until the delete guard has counted every one of the link's pass: the
    /// server's version of it, when it has one.
    Delete(Option<i64>),
    Unchanged,
    /// A client record that never came from the server: no sync deletes it.
    LocalOnly,
    /// A server record that adopted a client record on this read (MatchOn): left as merged.
    Adopted,
    /// A deletion Additive mode does not make, or of a record the client lacks.
    Skip(&'static str),
    Fail(String),
}

/// A server change made ready for the client before its batch's transaction, without I/O or
/// client state: the id checked, the attributes normalized, checked for the required ones and
/// turned into the text the client stores. A sync prepares the page it reads ahead while the
/// page before it is written, so this work is off the writer's path.
#[derive(Debug)]
pub struct Prepared {
    pub entity: String,
    pub id: String,
    pub op: ChangeOp,
    pub reason: Option<String>,
    pub version: i64,
    /// The record's id and, for an upsert, its record; or why the change cannot be applied.
    body: Result<(RecordId, Option<Ready>), String>,
}

#[derive(Debug)]
struct Ready {
    /// The attributes as the client stores them (normalized, without their nulls), and the
    /// record's digest.
    stored: StoredText,
    /// A required attribute without a value: the write fails unless the client already holds
    /// exactly these attributes.
    missing: Option<String>,
}

/// Makes a server change ready to plan (see [`Prepared`]).
pub fn prepare(def: &EntityDef, change: RemoteChange) -> Prepared {
    let RemoteChange {
        entity,
        id,
        op,
        reason,
        version,
        attributes,
        ..
    } = change;
    let body = match (RecordId::parse(id.as_str()), op) {
        (Err(_), _) => Err(format!("the server's id '{id}' is not a valid record id")),
        (Ok(rid), ChangeOp::Delete) => Ok((rid, None)),
        (Ok(rid), ChangeOp::Upsert) => {
            ready(def, rid.as_str(), attributes.unwrap_or_default()).map(|r| (rid, Some(r)))
        }
    };
    Prepared {
        entity,
        id,
        op,
        reason,
        version,
        body,
    }
}

fn ready(def: &EntityDef, id: &str, given: Map<String, Value>) -> Result<Ready, String> {
    let attributes = normalize_owned(def, given, Source::Json)
        .map_err(|e| format!("{}: {} (attribute '{}')", e.code, e.message, e.attribute))?;
    let missing = check_required(def, &attributes)
        .err()
        .map(|e| error::invalid_record(def.name.as_str(), e).to_string());
    let text = serde_json::to_string(&WithoutNulls(&attributes)).map_err(|e| e.to_string())?;
    let digest = record_digest(id, &attributes);
    Ok(Ready {
        stored: StoredText { text, digest },
        missing,
    })
}

/// What one server change comes to on the client, given the client's current row. The
/// change's stored text moves into the write.
pub fn plan(
    def: &EntityDef,
    mode: SyncMode,
    change: Prepared,
    current: &HashMap<(String, String), records::RecordRow>,
) -> Plan {
    let (id, ready) = match change.body {
        Err(why) => return Plan::Fail(why),
        Ok(body) => body,
    };
    let existing = current
        .get(&(def.name.to_string(), id.to_string()))
        .filter(|r| !r.deleted);
    let Some(Ready { stored, missing }) = ready else {
        return match (existing, mode) {
            (None, _) => Plan::Skip("not on the client"),
            (Some(row), _) if row.server_version.is_none() => Plan::LocalOnly,
            (Some(_), SyncMode::Additive) => Plan::Skip("kept: an Additive sync never deletes"),
            (Some(_), SyncMode::Mirror) => {
                Plan::Delete((change.version > 0).then_some(change.version))
            }
        };
    };
    let server_version = (change.version > 0).then_some(change.version);
    if let Some(row) = existing {
        if stored_text_equals(row, &stored)
            && (server_version.is_none() || row.server_version == server_version)
        {
            return Plan::Unchanged;
        }
    }
    if let Some(why) = missing {
        return Plan::Fail(why);
    }
    Plan::Write(WriteOp {
        entity: def.name.to_string(),
        id,
        kind: WriteKind::Replace,
        attributes: Map::new(),
        text: Some(stored),
        precondition: Precondition::None,
        server_version,
    })
}

/// Does the row store exactly the attributes of `text` (a stored text made by [`prepare`])?
/// The same text is the same attributes; a different one may still hold them in another key
/// order, so it is compared value by value.
fn stored_text_equals(row: &records::RecordRow, stored: &StoredText) -> bool {
    if row.attributes == stored.text {
        return true;
    }
    match &row.digest {
        // Digests made of the same attributes are equal however the texts are written.
        Some(digest) => digest.as_slice() == stored.digest,
        None => serde_json::from_str::<Map<String, Value>>(&stored.text)
            .is_ok_and(|attributes| stored_equals(row, &attributes)),
    }
}

/// Does the client's row hold exactly the server's attributes (nulls and absent alike)?
pub fn same_attributes(
    def: &EntityDef,
    server: &Map<String, Value>,
    row: &records::RecordRow,
) -> bool {
    normalize(def, server, Source::Json).is_ok_and(|normalized| stored_equals(row, &normalized))
}

/// Does the row store exactly these normalized attributes, a null one being an absent one?
fn stored_equals(row: &records::RecordRow, attributes: &Map<String, Value>) -> bool {
    let Ok(stored) = serde_json::from_str::<Map<String, Value>>(&row.attributes) else {
        return false;
    };
    let mut given = 0;
    for (name, value) in attributes.iter().filter(|(_, v)| !v.is_null()) {
        if stored.get(name) != Some(value) {
            return false;
        }
        given += 1;
    }
    given == stored.len()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::db::records::RecordRow;
    use crate::domain::metadata::EntityDefinitionInput;
    use crate::domain::names::LogicalName;

    fn account() -> EntityDef {
        let input: EntityDefinitionInput = serde_json::from_value(json!({"Attributes": [
            {"Name": "name", "Type": "String", "Required": true},
            {"Name": "revenue", "Type": "Money"}
        ]}))
        .unwrap();
        input
            .into_entity(LogicalName::parse("account").unwrap())
            .unwrap()
    }

    fn change(id: &str, op: ChangeOp, attributes: Option<Value>, version: i64) -> RemoteChange {
        RemoteChange {
            entity: "account".to_owned(),
            id: id.to_owned(),
            op,
            reason: None,
            version,
            modified_on: chrono::Utc::now(),
            attributes: attributes.and_then(|a| a.as_object().cloned()),
        }
    }

    fn held(
        id: &str,
        attributes: Value,
        server_version: i64,
    ) -> HashMap<(String, String), RecordRow> {
        let row = RecordRow {
            org_id: 1,
            entity: "account".to_owned(),
            id: id.to_owned(),
            version: 3,
            created_version: 3,
            created_on: 0,
            modified_on: 0,
            deleted: false,
            attributes: attributes.to_string(),
            server_version: Some(server_version),
            digest: None,
        };
        HashMap::from([(("account".to_owned(), id.to_owned()), row)])
    }

    #[test]
    fn a_new_record_is_written_with_its_server_version() {
        let c = change("a-1", ChangeOp::Upsert, Some(json!({"name": "A"})), 9);
        match plan(
            &account(),
            SyncMode::Mirror,
            prepare(&account(), c),
            &HashMap::new(),
        ) {
            Plan::Write(op) => {
                assert_eq!((op.kind, op.server_version), (WriteKind::Replace, Some(9)));
                assert_eq!(op.id.as_str(), "a-1");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_equal_record_is_left_alone() {
        let current = held("a-1", json!({"name": "A"}), 9);
        let same = change(
            "a-1",
            ChangeOp::Upsert,
            Some(json!({"name": "A", "revenue": null})),
            9,
        );
        assert!(matches!(
            plan(
                &account(),
                SyncMode::Mirror,
                prepare(&account(), same),
                &current
            ),
            Plan::Unchanged
        ));
        let newer = change("a-1", ChangeOp::Upsert, Some(json!({"name": "A"})), 10);
        assert!(matches!(
            plan(
                &account(),
                SyncMode::Mirror,
                prepare(&account(), newer),
                &current
            ),
            Plan::Write(_)
        ));
    }

    #[test]
    fn deletes_follow_the_mode() {
        let current = held("a-1", json!({"name": "A"}), 9);
        let gone = change("a-1", ChangeOp::Delete, None, 10);
        assert!(matches!(
            plan(
                &account(),
                SyncMode::Mirror,
                prepare(&account(), gone.clone()),
                &current
            ),
            Plan::Delete(Some(10))
        ));
        assert!(matches!(
            plan(
                &account(),
                SyncMode::Additive,
                prepare(&account(), gone.clone()),
                &current
            ),
            Plan::Skip(_)
        ));
        assert!(matches!(
            plan(
                &account(),
                SyncMode::Mirror,
                prepare(&account(), gone.clone()),
                &HashMap::new()
            ),
            Plan::Skip(_)
        ));
    }

    #[test]
    fn a_record_that_never_came_from_the_server_is_never_deleted() {
        let mut current = held("a-1", json!({"name": "A"}), 9);
        for row in current.values_mut() {
            row.server_version = None;
        }
        let gone = change("a-1", ChangeOp::Delete, None, 0);
        for mode in [SyncMode::Mirror, SyncMode::Additive] {
            assert!(matches!(
                plan(
                    &account(),
                    mode,
                    prepare(&account(), gone.clone()),
                    &current
                ),
                Plan::LocalOnly
            ));
        }
    }

    #[test]
    fn what_does_not_fit_fails_naming_it() {
        let bad_id = change("has space", ChangeOp::Upsert, Some(json!({"name": "A"})), 1);
        assert!(
            matches!(plan(&account(), SyncMode::Mirror, prepare(&account(), bad_id), &HashMap::new()), Plan::Fail(m) if m.contains("has space"))
        );
        let bad_value = change("a-2", ChangeOp::Upsert, Some(json!({"name": 5})), 1);
        assert!(
            matches!(plan(&account(), SyncMode::Mirror, prepare(&account(), bad_value), &HashMap::new()), Plan::Fail(m) if m.contains("'name'"))
        );
    }

    #[test]
    fn the_same_attributes_in_another_order_are_left_alone() {
        let current = held("a-1", json!({"revenue": 12.5, "name": "A"}), 9);
        let reordered = change(
            "a-1",
            ChangeOp::Upsert,
            Some(json!({"name": "A", "revenue": 12.5})),
            9,
        );
        assert!(matches!(
            plan(
                &account(),
                SyncMode::Mirror,
                prepare(&account(), reordered),
                &current
            ),
            Plan::Unchanged
        ));
        let changed = change(
            "a-1",
            ChangeOp::Upsert,
            Some(json!({"name": "A", "revenue": 13})),
            9,
        );
        match plan(
            &account(),
            SyncMode::Mirror,
            prepare(&account(), changed),
            &current,
        ) {
            Plan::Write(op) => assert_eq!(
                op.text.map(|s| s.text).as_deref(),
                Some(r#"{"name":"A","revenue":13}"#)
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_required_value_fails_unless_the_client_holds_the_same() {
        let without_name = || change("a-1", ChangeOp::Upsert, Some(json!({"revenue": 1})), 9);
        match plan(
            &account(),
            SyncMode::Mirror,
            prepare(&account(), without_name()),
            &HashMap::new(),
        ) {
            Plan::Fail(why) => assert!(why.contains("'name'"), "{why}"),
            other => panic!("{other:?}"),
        }
        let current = held("a-1", json!({"revenue": 1}), 9);
        assert!(matches!(
            plan(
                &account(),
                SyncMode::Mirror,
                prepare(&account(), without_name()),
                &current
            ),
            Plan::Unchanged
        ));
    }

    #[test]
    fn ids_are_looked_up_in_their_stored_form() {
        let upper = "0190F5C2-7A3B-7C1D-8E2F-123456789ABC";
        let current = held(&upper.to_lowercase(), json!({"name": "A"}), 9);
        let gone = change(upper, ChangeOp::Delete, None, 10);
        assert!(matches!(
            plan(
                &account(),
                SyncMode::Mirror,
                prepare(&account(), gone),
                &current
            ),
            Plan::Delete(Some(10))
        ));
    }
}
