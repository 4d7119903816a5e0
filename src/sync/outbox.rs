//! What client writes come to on the server, worked out without I/O: the attributes a write
//! changed, the chains of transactions a batch carries (whole chains of a record, in creation
//! order, none of a record held up behind an error), and the one operation a chain sends.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::db::transactions::TxRow;
use crate::domain::transaction::{Resolution, TxOp};
use crate::wire::batch::{BatchOp, BatchOperation};

/// What the change of one record was, attribute by attribute (a removed one as null).
pub fn diff(before: &Map<String, Value>, after: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in after {
        if before.get(k) != Some(v) {
            out.insert(k.clone(), v.clone());
        }
    }
    for k in before.keys() {
        if !after.contains_key(k) {
            out.insert(k.clone(), Value::Null);
        }
    }
    out
}

/// Groups pending transactions (in creation order) into the chains of at most `max_chains`
/// records, in the order their first transaction came. A record with an earlier transaction
/// in error (`errored`: entity, record, sequence) waits behind it.
pub fn chains(
    pending: Vec<TxRow>,
    errored: &[(String, String, i64)],
    max_chains: usize,
) -> Vec<Vec<TxRow>> {
    // Each waiting record's earliest sequence: its transactions after it wait.
    let mut waits: HashMap<(&str, &str), i64> = HashMap::with_capacity(errored.len());
    for (e, r, s) in errored {
        let first = waits.entry((e.as_str(), r.as_str())).or_insert(*s);
        *first = (*first).min(*s);
    }
    let mut by_record: BTreeMap<(String, String), Vec<TxRow>> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for tx in pending {
        if waits
            .get(&(tx.entity.as_str(), tx.record_id.as_str()))
            .is_some_and(|s| *s < tx.seq)
        {
            continue;
        }
        let key = (tx.entity.clone(), tx.record_id.clone());
        if !by_record.contains_key(&key) {
            if order.len() == max_chains {
                continue;
            }
            order.push(key.clone());
        }
        by_record.entry(key).or_default().push(tx);
    }
    order
        .into_iter()
        .filter_map(|key| by_record.remove(&key))
        .collect()
}

/// What [`combine`] needs to know beyond the chain itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// The client's whole record: the chain overrides the server's (ClientWinsFull).
    pub whole_record: bool,
    /// The server version the client's record holds: an update of a record created here and
    /// delivered since, whose base is what the server answered then.
    pub server_version: bool,
}

pub fn needs(chain: &[TxRow]) -> Needs {
    let first = &chain[0];
    let starts_new = first.operation == TxOp::Create;
    let force = first.resolution.is_some_and(Resolution::forces);
    Needs {
        whole_record: first.resolution == Some(Resolution::ClientWinsFull),
        server_version: !force && !starts_new && first.base_version <= 0,
    }
}

/// The one batch operation of a record's chain, or `None` when the chain created and deleted
/// the record before delivery (the server never needs to hear of it). `whole` is the client's
/// whole record with every other attribute of its entity null, and `server_version` the
/// version the client's record holds, when [`needs`] asked for them.
pub fn combine(
    chain: &[TxRow],
    whole: Option<Map<String, Value>>,
    server_version: Option<i64>,
) -> Option<BatchOperation> {
    let first = chain.first()?;
    let starts_new = first.operation == TxOp::Create;
    let mut attributes = Map::new();
    let mut delete = false;
    for tx in chain {
        match tx.operation {
            TxOp::Delete => {
                delete = true;
                attributes.clear();
            }
            TxOp::Create | TxOp::Update => {
                delete = false;
                if let Some(changed) = &tx.attributes {
                    attributes.extend(changed.get().clone());
                }
            }
        }
    }
    if delete && starts_new {
        return None;
    }
    let force = first.resolution.is_some_and(Resolution::forces);
    if first.resolution == Some(Resolution::ClientWinsFull) && !delete {
        attributes = whole.unwrap_or_default();
    }
    let if_version = (!force).then(|| {
        if starts_new || first.base_version > 0 {
            first.base_version
        } else {
            server_version.unwrap_or(0)
        }
    });
    Some(BatchOperation {
        op: if delete {
            BatchOp::Delete
        } else {
            BatchOp::Upsert
        },
        entity: first.entity.clone(),
        id: first.record_id.clone(),
        attributes: (!delete).then_some(attributes),
        if_version,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::db::records::RecordRow;

    fn tx(seq: i64, record: &str, op: TxOp, attrs: Option<Value>, base: i64) -> TxRow {
        let row = RecordRow {
            org_id: 1,
            entity: "account".to_owned(),
            id: record.to_owned(),
            version: seq,
            created_version: seq,
            created_on: 0,
            modified_on: 0,
            deleted: false,
            attributes: "{}".to_owned(),
            server_version: None,
            digest: None,
        };
        let attrs = attrs.and_then(|a| a.as_object().cloned());
        TxRow::pending(1, &row, op, attrs, base, 0)
    }

    #[test]
    fn a_write_sends_only_what_it_changed() {
        let before = json!({"name": "A", "city": "Oslo", "n": 1});
        let after = json!({"name": "A", "n": 2, "email": "a@x"});
        let changed = diff(before.as_object().unwrap(), after.as_object().unwrap());
        assert_eq!(
            Value::Object(changed),
            json!({"n": 2, "email": "a@x", "city": null})
        );
    }

    #[test]
    fn a_chain_comes_to_one_operation() {
        let chain = [
            tx(1, "a", TxOp::Update, Some(json!({"name": "x", "n": 1})), 7),
            tx(2, "a", TxOp::Update, Some(json!({"n": 2})), 7),
        ];
        let op = combine(&chain, None, None).unwrap();
        assert_eq!(op.op, BatchOp::Upsert);
        assert_eq!(
            op.if_version,
            Some(7),
            "checked against the version first written on"
        );
        assert_eq!(
            Value::Object(op.attributes.unwrap()),
            json!({"name": "x", "n": 2})
        );
        let deleted = [chain[0].clone(), tx(3, "a", TxOp::Delete, None, 7)];
        let op = combine(&deleted, None, None).unwrap();
        assert_eq!((op.op, op.attributes), (BatchOp::Delete, None));
    }

    #[test]
    fn created_and_deleted_before_delivery_sends_nothing() {
        let chain = [
            tx(1, "a", TxOp::Create, Some(json!({"name": "x"})), 0),
            tx(2, "a", TxOp::Delete, None, 0),
        ];
        assert_eq!(combine(&chain, None, None), None);
    }

    #[test]
    fn a_won_conflict_is_sent_unchecked_and_whole_when_full() {
        let mut first = tx(1, "a", TxOp::Update, Some(json!({"n": 2})), 3);
        first.resolution = Some(Resolution::ClientWinsFull);
        let chain = [first];
        assert_eq!(
            needs(&chain),
            Needs {
                whole_record: true,
                server_version: false
            }
        );
        let whole = json!({"name": "x", "n": 2, "city": null});
        let op = combine(&chain, whole.as_object().cloned(), None).unwrap();
        assert_eq!(op.if_version, None);
        assert_eq!(Value::Object(op.attributes.unwrap()), whole);
    }

    #[test]
    fn an_update_of_a_record_created_here_is_checked_against_its_server_version() {
        let chain = [tx(5, "a", TxOp::Update, Some(json!({"n": 2})), 0)];
        assert!(needs(&chain).server_version);
        assert_eq!(
            combine(&chain, None, Some(11)).unwrap().if_version,
            Some(11)
        );
    }

    #[test]
    fn chains_keep_order_and_wait_behind_errors() {
        let pending = vec![
            tx(1, "a", TxOp::Create, Some(json!({})), 0),
            tx(2, "b", TxOp::Create, Some(json!({})), 0),
            tx(3, "a", TxOp::Update, Some(json!({"n": 1})), 0),
            tx(4, "c", TxOp::Create, Some(json!({})), 0),
        ];
        let errored = [("account".to_owned(), "b".to_owned(), 0)];
        let got: Vec<Vec<i64>> = chains(pending.clone(), &errored, 10)
            .iter()
            .map(|c| c.iter().map(|t| t.seq).collect())
            .collect();
        assert_eq!(got, [vec![1, 3], vec![4]]);
        assert_eq!(chains(pending, &[], 2).len(), 2, "at most max chains");
    }
}
