//! What one server change comes to on the client, worked out without I/O from the change and
//! the client's current row: a write, a delete for the delete guard to count, nothing (already
//! equal), a local-only record kept, a skip with its reason, or a failure naming what is wrong.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::db::records::{self, Precondition, WriteKind, WriteOp};
use crate::domain::metadata::EntityDef;
use crate::domain::names::RecordId;
use crate::domain::record::{normalize, normalize_owned, Source};
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

/// What one server change comes to on the client, given the client's current row. The change's
/// attributes move into the write.
pub fn plan(
    def: &EntityDef,
    mode: SyncMode,
    change: RemoteChange,
    current: &HashMap<(String, String), records::RecordRow>,
) -> Plan {
    let Ok(id) = RecordId::parse(change.id.as_str()) else {
        return Plan::Fail(format!(
            "the server's id '{}' is not a valid record id",
            change.id
        ));
    };
    let existing = current
        .get(&(def.name.to_string(), id.to_string()))
        .filter(|r| !r.deleted);
    match change.op {
        ChangeOp::Delete => match (existing, mode) {
            (None, _) => Plan::Skip("not on the client"),
            (Some(row), _) if row.server_version.is_none() => Plan::LocalOnly,
            (Some(_), SyncMode::Additive) => Plan::Skip("kept: an Additive sync never deletes"),
            (Some(_), SyncMode::Mirror) => {
                Plan::Delete((change.version > 0).then_some(change.version))
            }
        },
        ChangeOp::Upsert => {
            let given = change.attributes.unwrap_or_default();
            let attributes = match normalize_owned(def, given, Source::Json) {
                Ok(a) => a,
                Err(e) => {
                    return Plan::Fail(format!(
                        "{}: {} (attribute '{}')",
                        e.code, e.message, e.attribute
                    ))
                }
            };
            let server_version = (change.version > 0).then_some(change.version);
            if let Some(row) = existing {
                if stored_equals(row, &attributes)
                    && (server_version.is_none() || row.server_version == server_version)
                {
                    return Plan::Unchanged;
                }
            }
            Plan::Write(WriteOp {
                entity: def.name.to_string(),
                id,
                kind: WriteKind::Replace,
                attributes,
                precondition: Precondition::None,
                server_version,
            })
        }
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
        };
        HashMap::from([(("account".to_owned(), id.to_owned()), row)])
    }

    #[test]
    fn a_new_record_is_written_with_its_server_version() {
        let c = change("a-1", ChangeOp::Upsert, Some(json!({"name": "A"})), 9);
        match plan(&account(), SyncMode::Mirror, c, &HashMap::new()) {
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
            plan(&account(), SyncMode::Mirror, same, &current),
            Plan::Unchanged
        ));
        let newer = change("a-1", ChangeOp::Upsert, Some(json!({"name": "A"})), 10);
        assert!(matches!(
            plan(&account(), SyncMode::Mirror, newer, &current),
            Plan::Write(_)
        ));
    }

    #[test]
    fn deletes_follow_the_mode() {
        let current = held("a-1", json!({"name": "A"}), 9);
        let gone = change("a-1", ChangeOp::Delete, None, 10);
        assert!(matches!(
            plan(&account(), SyncMode::Mirror, gone.clone(), &current),
            Plan::Delete(Some(10))
        ));
        assert!(matches!(
            plan(&account(), SyncMode::Additive, gone.clone(), &current),
            Plan::Skip(_)
        ));
        assert!(matches!(
            plan(&account(), SyncMode::Mirror, gone.clone(), &HashMap::new()),
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
                plan(&account(), mode, gone.clone(), &current),
                Plan::LocalOnly
            ));
        }
    }

    #[test]
    fn what_does_not_fit_fails_naming_it() {
        let bad_id = change("has space", ChangeOp::Upsert, Some(json!({"name": "A"})), 1);
        assert!(
            matches!(plan(&account(), SyncMode::Mirror, bad_id, &HashMap::new()), Plan::Fail(m) if m.contains("has space"))
        );
        let bad_value = change("a-2", ChangeOp::Upsert, Some(json!({"name": 5})), 1);
        assert!(
            matches!(plan(&account(), SyncMode::Mirror, bad_value, &HashMap::new()), Plan::Fail(m) if m.contains("'name'"))
        );
    }
}
