//! The rounds of one entity's Compare: the server cuts ranges into pieces and digests them,
//! the client counts its own records into the same pieces, and the pieces that differ are cut
//! again or, once small, listed record by record on both sides.

use std::collections::BTreeMap;

use serde_json::Value;

use super::super::{EngineError, Pass};
use super::local;
use crate::domain::digest::{
    differences, from_hex, BucketDigest, Differences, IdRange, RecordDigest,
};
use crate::providers::ProviderError;
use crate::wire::compare::{DigestRange, RangeDigests, MAX_RANGES};

/// Pieces the whole entity is cut into at first.
const FIRST_PIECES: u64 = 256;
/// Pieces a differing piece is cut into.
const SPLIT: u64 = 16;
/// A differing piece of at most this many server records is listed.
const LEAF: u64 = 64;
/// Rounds after which a server that keeps answering with pieces that do not shrink is wrong.
const MAX_ROUNDS: u32 = 64;

/// What one entity's Compare found.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// In-scope records on the server, and records on the client.
    pub server: u64,
    pub client: u64,
    pub differences: Differences,
    pub rounds: u32,
    /// Digest requests and answers, as JSON.
    pub bytes: usize,
}

fn wrong(message: String) -> EngineError {
    EngineError::Provider(ProviderError::Rejected {
        code: "server_rejected".to_owned(),
        message: format!("the server's digests are not what orgsync expects: {message}"),
    })
}

/// The server's pieces of `range`, checked: they start at the range's start and go up in id
/// order inside it.
fn pieces_of(
    range: &IdRange,
    answer: &RangeDigests,
) -> Result<Vec<(IdRange, BucketDigest)>, EngineError> {
    let pieces = &answer.pieces;
    if pieces.first().is_none_or(|p| p.from != range.from) {
        return Err(wrong(
            "a range's first piece does not start at the range".into(),
        ));
    }
    let mut out = Vec::with_capacity(pieces.len());
    for (i, piece) in pieces.iter().enumerate() {
        let to = match pieces.get(i + 1) {
            Some(next) => next.from.clone(),
            None => range.to.clone(),
        };
        let bounds = IdRange {
            from: piece.from.clone(),
            to,
        };
        if i > 0 && (bounds.from.is_none() || !range.contains(bounds.from.as_deref().unwrap_or("")))
            || !bounds.is_ordered()
        {
            return Err(wrong(
                "pieces are not in id order inside their range".into(),
            ));
        }
        let xor = from_hex(&piece.digest)
            .ok_or_else(|| wrong(format!("'{}' is not a digest", piece.digest)))?;
        out.push((
            bounds,
            BucketDigest {
                count: piece.count,
                xor,
            },
        ));
    }
    Ok(out)
}

fn listed(answer: &RangeDigests) -> Result<BTreeMap<String, RecordDigest>, EngineError> {
    answer
        .records
        .iter()
        .map(|r| {
            from_hex(&r.digest)
                .map(|d| (r.id.clone(), d))
                .ok_or_else(|| wrong(format!("'{}' is not a digest", r.digest)))
        })
        .collect()
}

/// What the server said of a round's range.
enum Theirs {
    Pieces(Vec<(IdRange, BucketDigest)>),
    Records(BTreeMap<String, RecordDigest>),
}

/// What the client side computes of a round's range.
enum Mine {
    Tally(Vec<BucketDigest>),
    List(BTreeMap<String, RecordDigest>),
}

/// Compares one entity's records on both sides; `place` is its place among the job's entities
/// (for the progress).
pub(super) async fn compare(
    pass: &Pass<'_>,
    entity: &str,
    filters: Option<Value>,
    place: (usize, usize),
) -> Result<Found, EngineError> {
    let Pass {
        engine,
        report: ctx,
        provider,
        org_id,
    } = *pass;
    let phase = format!("Compare {entity} ({} of {})", place.0 + 1, place.1);
    let total = provider.count(entity).await?.unwrap_or(0);
    let first = DigestRange {
        size: (total > LEAF).then(|| total.div_ceil(FIRST_PIECES)),
        ..DigestRange::default()
    };
    let mut found = Found::default();
    let mut server_leaves = BTreeMap::new();
    let mut client_leaves = BTreeMap::new();
    let mut todo = vec![first];
    let mut settled = 0u64;
    while !todo.is_empty() {
        if found.rounds == MAX_ROUNDS {
            return Err(wrong(format!("{MAX_ROUNDS} rounds did not settle")));
        }
        ctx.checkpoint().await?;
        ctx.progress(&phase, settled, found.server.max(total))
            .await?;
        let mut next = Vec::new();
        for chunk in todo.chunks(MAX_RANGES) {
            let answer = provider.digests(entity, filters.as_ref(), chunk).await?;
            found.bytes += json_len(&chunk) + json_len(&answer);
            if answer.ranges.len() != chunk.len() {
                return Err(wrong(format!(
                    "{} ranges answered for {} asked",
                    answer.ranges.len(),
                    chunk.len()
                )));
            }
            // The client's side of each range: counted into the server's pieces, or listed.
            let mut asks = Vec::with_capacity(chunk.len());
            let mut theirs = Vec::with_capacity(chunk.len());
            for (range, answer) in chunk.iter().zip(&answer.ranges) {
                let ids = range.id_range();
                match range.size {
                    Some(_) => {
                        let pieces = pieces_of(&ids, answer)?;
                        let starts = pieces.iter().map(|(r, _)| r.from.clone()).collect();
                        asks.push((ids, Some(starts)));
                        theirs.push(Theirs::Pieces(pieces));
                    }
                    None => {
                        asks.push((ids, None));
                        theirs.push(Theirs::Records(listed(answer)?));
                    }
                }
            }
            let name = entity.to_owned();
            let mine = engine
                .db
                .run(move |conn| {
                    asks.into_iter()
                        .map(|(ids, starts)| match starts {
                            Some(s) => local::tally(conn, org_id, &name, &ids, s).map(Mine::Tally),
                            None => local::list(conn, org_id, &name, &ids).map(Mine::List),
                        })
                        .collect::<Result<Vec<_>, EngineError>>()
                })
                .await?;
            for (theirs, mine) in theirs.into_iter().zip(mine) {
                match (theirs, mine) {
                    (Theirs::Pieces(pieces), Mine::Tally(counts)) => {
                        if found.rounds == 0 {
                            found.server = pieces.iter().map(|(_, d)| d.count).sum();
                            found.client = counts.iter().map(|d| d.count).sum();
                        }
                        for ((bounds, server), client) in pieces.into_iter().zip(counts) {
                            if server == client {
                                settled += server.count;
                            } else {
                                next.push(DigestRange {
                                    from: bounds.from,
                                    to: bounds.to,
                                    size: (server.count > LEAF)
                                        .then(|| server.count.div_ceil(SPLIT)),
                                });
                            }
                        }
                    }
                    (Theirs::Records(records), Mine::List(own)) => {
                        if found.rounds == 0 {
                            found.server = records.len() as u64;
                            found.client = own.len() as u64;
                        }
                        settled += records.len() as u64;
                        server_leaves.extend(records);
                        client_leaves.extend(own);
                    }
                    _ => return Err(wrong("the round's answers do not line up".into())),
                }
            }
        }
        found.rounds += 1;
        todo = next;
    }
    ctx.progress(&phase, found.server, found.server).await?;
    found.differences = differences(&server_leaves, &client_leaves);
    Ok(found)
}

fn json_len(value: &impl serde::Serialize) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}
