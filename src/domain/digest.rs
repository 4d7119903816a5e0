//! Digests that tell two copies of a record set apart without moving the records (what
//! Compare builds on): a record's digest, the digest of a run of records, and the pieces an id
//! range is cut into.
//!
//! - A record's digest covers its id and its attributes, and not how they were written: keys
//!   in any order, a number as `1.50` or `1.5`, an absent attribute or a null one.
//! - A run of records is digested as its count and the XOR of its records' digests: one pass,
//!   any order.
//! - One side cuts an id range into pieces of so many records ([`Cutter`]); the other counts
//!   its own records into the same pieces ([`Tally`]). Pieces whose digests differ hold the
//!   differences, and only they are looked at further. Ids are ordered byte by byte on both
//!   sides.

use serde_json::{Map, Value};
use xxhash_rust::xxh3::Xxh3;

use super::decimal;

/// A record's digest.
pub type RecordDigest = [u8; 16];

/// Writes `value` in its canonical form: numbers as their shortest exact decimal, object keys
/// sorted and nulls left out, so every way of writing the same value gives the same bytes.
/// Written straight into the hash: nothing is copied.
fn canonical(value: &Value, out: &mut Xxh3) {
    match value {
        Value::Null => out.update(b"n"),
        Value::Bool(b) => out.update(if *b { b"t" } else { b"f" }),
        Value::Number(n) => {
            out.update(b"#");
            let text = n.to_string();
            if is_plain_integer(&text) {
                out.update(text.as_bytes());
            } else {
                match decimal::of_value(value) {
                    Some(d) => out.update(decimal::to_value(d).to_string().as_bytes()),
                    None => out.update(text.as_bytes()),
                }
            }
            out.update(&[0]);
        }
        Value::String(s) => {
            out.update(b"s");
            out.update(&(s.len() as u64).to_be_bytes());
            out.update(s.as_bytes());
        }
        Value::Array(items) => {
            out.update(b"[");
            out.update(&(items.len() as u64).to_be_bytes());
            items.iter().for_each(|v| canonical(v, out));
        }
        Value::Object(map) => object(map, out),
    }
}

fn object(map: &Map<String, Value>, out: &mut Xxh3) {
    let mut keys: Vec<(&String, &Value)> = map.iter().filter(|(_, v)| !v.is_null()).collect();
    keys.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.update(b"{");
    out.update(&(keys.len() as u64).to_be_bytes());
    for (k, v) in keys {
        out.update(&(k.len() as u64).to_be_bytes());
        out.update(k.as_bytes());
        canonical(v, out);
    }
}

/// A number written the one way JSON writes an integer (no sign but `-`, no leading zero, no
/// fraction or exponent): its own canonical text, whatever its size.
fn is_plain_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && text != "-0"
}

/// The digest of the record `id` with `attributes`: 128 bits of XXH3 over its canonical form
/// (a check of drift between copies, not of tampering).
pub fn record_digest(id: &str, attributes: &Map<String, Value>) -> RecordDigest {
    let mut hash = Xxh3::new();
    hash.update(&(id.len() as u64).to_be_bytes());
    hash.update(id.as_bytes());
    object(attributes, &mut hash);
    hash.digest128().to_be_bytes()
}

/// The digest of a stored record, given its attributes' text (a JSON object); `None` when
/// the text is not one.
pub fn stored_digest(id: &str, text: &str) -> Option<RecordDigest> {
    serde_json::from_str::<Map<String, Value>>(text)
        .ok()
        .map(|attributes| record_digest(id, &attributes))
}

/// The digest of a bucket: how many records it holds, and the XOR of their digests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BucketDigest {
    pub count: u64,
    pub xor: RecordDigest,
}

impl BucketDigest {
    pub fn add(&mut self, digest: &RecordDigest) {
        self.count += 1;
        for (x, d) in self.xor.iter_mut().zip(digest) {
            *x ^= d;
        }
    }
}

/// The digest as text (32 hex digits).
pub fn to_hex(digest: &RecordDigest) -> String {
    hex::encode(digest)
}

/// A digest written by [`to_hex`]; `None` for anything else.
pub fn from_hex(text: &str) -> Option<RecordDigest> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// The ids from `from` (included) to `to` (excluded); `None` leaves that end open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl IdRange {
    pub fn contains(&self, id: &str) -> bool {
        self.from.as_deref().is_none_or(|f| id >= f) && self.to.as_deref().is_none_or(|t| id < t)
    }
    /// Is it a range (its start before its end)?
    pub fn is_ordered(&self) -> bool {
        match (&self.from, &self.to) {
            (Some(f), Some(t)) => f < t,
            _ => true,
        }
    }
}

/// A piece of a range: the records from its first id (the range's start for the first
/// piece) up to the next piece's, and their digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub from: Option<String>,
    pub digest: BucketDigest,
}

/// Cuts a range's records, given in id order, into pieces of `size` records (the last one
/// smaller). An empty range is one empty piece.
pub struct Cutter {
    size: u64,
    pieces: Vec<Piece>,
}

impl Cutter {
    pub fn new(range: &IdRange, size: u64) -> Self {
        Self {
            size: size.max(1),
            pieces: vec![Piece {
                from: range.from.clone(),
                digest: BucketDigest::default(),
            }],
        }
    }

    pub fn push(&mut self, id: &str, digest: &RecordDigest) {
        let full = self
            .pieces
            .last()
            .is_some_and(|p| p.digest.count >= self.size);
        if full {
            self.pieces.push(Piece {
                from: Some(id.to_owned()),
                digest: BucketDigest::default(),
            });
        }
        if let Some(last) = self.pieces.last_mut() {
            last.digest.add(digest);
        }
    }

    pub fn finish(self) -> Vec<Piece> {
        self.pieces
    }
}

/// Counts a range's records, given in id order, into the pieces the other side cut it into
/// (their starts, in order).
pub struct Tally {
    starts: Vec<Option<String>>,
    digests: Vec<BucketDigest>,
    at: usize,
}

impl Tally {
    pub fn new(starts: Vec<Option<String>>) -> Self {
        let digests = vec![BucketDigest::default(); starts.len().max(1)];
        Self {
            starts,
            digests,
            at: 0,
        }
    }

    pub fn push(&mut self, id: &str, digest: &RecordDigest) {
        while self
            .starts
            .get(self.at + 1)
            .is_some_and(|next| next.as_deref().is_none_or(|n| n <= id))
        {
            self.at += 1;
        }
        self.digests[self.at].add(digest);
    }

    pub fn finish(self) -> Vec<BucketDigest> {
        self.digests
    }
}

/// How two sides' records of the same ranges differ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Differences {
    /// On the first side only.
    pub missing: Vec<String>,
    /// On the second side only.
    pub extra: Vec<String>,
    /// On both, with different attributes.
    pub stale: Vec<String>,
}

/// The records of `first` (the server) and `second` (the client), by id, told apart.
pub fn differences(
    first: &std::collections::BTreeMap<String, RecordDigest>,
    second: &std::collections::BTreeMap<String, RecordDigest>,
) -> Differences {
    let mut out = Differences::default();
    for (id, digest) in first {
        match second.get(id) {
            None => out.missing.push(id.clone()),
            Some(other) if other != digest => out.stale.push(id.clone()),
            Some(_) => {}
        }
    }
    out.extra = second
        .keys()
        .filter(|id| !first.contains_key(*id))
        .cloned()
        .collect();
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn attrs(v: Value) -> Map<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_digest_ignores_how_a_record_was_written_and_nothing_else() {
        let a = record_digest(
            "a1",
            &attrs(json!({"name": "Contoso", "revenue": 1.50, "n": 10})),
        );
        // As written on the wire: the digits are kept (arbitrary precision), so each form is
        // really another text of the same number.
        let same = [
            r#"{"revenue": 1.5, "n": 10, "name": "Contoso"}"#,
            r#"{"name": "Contoso", "revenue": 1.500, "n": 10, "phone": null}"#,
            r#"{"name": "Contoso", "revenue": 15e-1, "n": 10.0}"#,
        ];
        for s in same {
            let parsed: Map<String, Value> = serde_json::from_str(s).unwrap();
            assert_eq!(record_digest("a1", &parsed), a, "{s}");
        }
        let different = [
            json!({"name": "contoso", "revenue": 1.5, "n": 10}),
            json!({"name": "Contoso", "revenue": 1.51, "n": 10}),
            json!({"name": "Contoso", "revenue": "1.5", "n": 10}),
            json!({"name": "Contoso", "revenue": 1.5}),
        ];
        for d in different {
            assert_ne!(record_digest("a1", &attrs(d.clone())), a, "{d}");
        }
        assert_ne!(
            record_digest(
                "a2",
                &attrs(json!({"name": "Contoso", "revenue": 1.5, "n": 10}))
            ),
            a,
            "the id counts"
        );
    }

    #[test]
    fn a_run_digest_ignores_order_and_pieces_cut_on_one_side_tally_on_the_other() {
        let digests: Vec<RecordDigest> = (0..50)
            .map(|i| record_digest(&format!("r{i}"), &attrs(json!({"i": i}))))
            .collect();
        let (mut forward, mut backward) = (BucketDigest::default(), BucketDigest::default());
        digests.iter().for_each(|d| forward.add(d));
        digests.iter().rev().for_each(|d| backward.add(d));
        assert_eq!(forward, backward);
        assert_eq!(forward.count, 50);
        let mut one_less = BucketDigest::default();
        digests[1..].iter().for_each(|d| one_less.add(d));
        assert_ne!(one_less.xor, forward.xor);
    }

    fn records(n: usize, skip: &[usize]) -> Vec<(String, RecordDigest)> {
        (0..n)
            .filter(|i| !skip.contains(i))
            .map(|i| {
                let id = format!("acc-{i:04}");
                let d = record_digest(&id, &attrs(json!({"i": i})));
                (id, d)
            })
            .collect()
    }

    #[test]
    fn the_pieces_one_side_cuts_show_where_the_other_differs() {
        let range = IdRange {
            from: Some("acc-0010".to_owned()),
            to: None,
        };
        let server = records(100, &[]);
        let mut cutter = Cutter::new(&range, 25);
        for (id, d) in server.iter().filter(|(id, _)| range.contains(id)) {
            cutter.push(id, d);
        }
        let pieces = cutter.finish();
        assert_eq!(
            pieces.iter().map(|p| p.digest.count).collect::<Vec<_>>(),
            [25, 25, 25, 15]
        );
        assert_eq!(
            pieces[0].from.as_deref(),
            Some("acc-0010"),
            "the range's start"
        );
        assert_eq!(pieces[1].from.as_deref(), Some("acc-0035"));

        // The client lacks acc-0040 and has acc-0060 changed.
        let mut client = records(100, &[40]);
        client[59].1 = record_digest("acc-0060", &attrs(json!({"i": -1})));
        let mut tally = Tally::new(pieces.iter().map(|p| p.from.clone()).collect());
        for (id, d) in client.iter().filter(|(id, _)| range.contains(id)) {
            tally.push(id, d);
        }
        let mine = tally.finish();
        let same: Vec<bool> = pieces
            .iter()
            .zip(&mine)
            .map(|(p, m)| p.digest == *m)
            .collect();
        assert_eq!(same, [true, false, false, true]);
        assert_eq!(mine[1].count, 24);

        assert_eq!(
            Cutter::new(&IdRange::default(), 10).finish().len(),
            1,
            "empty"
        );
        assert!(!IdRange {
            from: Some("b".into()),
            to: Some("a".into())
        }
        .is_ordered());
        let d = record_digest("x", &Map::new());
        assert_eq!(from_hex(&to_hex(&d)), Some(d));
        assert_eq!(from_hex("zz"), None);
    }

    #[test]
    fn differences_name_missing_extra_and_stale_ids() {
        let server: std::collections::BTreeMap<_, _> = records(6, &[4]).into_iter().collect();
        let mut client: std::collections::BTreeMap<_, _> = records(6, &[1]).into_iter().collect();
        client.insert(
            "acc-0002".to_owned(),
            record_digest("acc-0002", &Map::new()),
        );
        let d = differences(&server, &client);
        assert_eq!(d.missing, ["acc-0001"]);
        assert_eq!(d.extra, ["acc-0004"]);
        assert_eq!(d.stale, ["acc-0002"]);
    }
}
