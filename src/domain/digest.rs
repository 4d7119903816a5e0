//! Digests that tell two copies of a record set apart without moving the records (the ground
//! Compare builds on): a record's digest, its bucket, and a bucket's digest.
//!
//! - A record's digest covers its id and its attributes, and not how they were written: keys
//!   in any order, a number as `1.50` or `1.5`, an absent attribute or a null one.
//! - A record's bucket is the first bits of a hash of its id: an id range in hash space that
//!   both sides agree on without exchanging ids, and that splits evenly however ids look.
//! - A bucket's digest is the count and the XOR of its records' digests: independent of the
//!   order they are read in, so each side computes it in one pass over its own records.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::decimal;

/// A record's digest.
pub type RecordDigest = [u8; 16];

/// A value in its canonical form: numbers as their shortest exact decimal, objects with sorted
/// keys and without nulls.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Number(_) => {
            decimal::of_value(value).map_or_else(|| value.clone(), decimal::to_value)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> = map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, canonical(v)))
                .collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        other => other.clone(),
    }
}

/// The digest of the record `id` with `attributes`.
pub fn record_digest(id: &str, attributes: &Map<String, Value>) -> RecordDigest {
    let body = canonical(&Value::Object(attributes.clone())).to_string();
    let mut hash = Sha256::new();
    hash.update(id.as_bytes());
    hash.update([0]);
    hash.update(body.as_bytes());
    let full = hash.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// The bucket of `id` among `2^bits` (at most 64 bits).
pub fn bucket_of(id: &str, bits: u32) -> u64 {
    if bits == 0 {
        return 0;
    }
    let full = Sha256::digest(id.as_bytes());
    let mut head = [0u8; 8];
    head.copy_from_slice(&full[..8]);
    u64::from_be_bytes(head) >> (64 - bits.min(64))
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
    fn buckets_split_ids_evenly_and_a_bucket_digest_ignores_order() {
        let mut counts = [0u32; 16];
        for i in 0..16_000 {
            let b = bucket_of(&format!("acc-{i:05}"), 4);
            counts[usize::try_from(b).unwrap()] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
        // A bucket at more bits lies inside its bucket at fewer.
        assert_eq!(bucket_of("acc-00042", 12) >> 8, bucket_of("acc-00042", 4));
        assert_eq!(bucket_of("x", 0), 0);

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
}
