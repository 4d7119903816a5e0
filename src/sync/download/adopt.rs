//! Adopting existing client records on a link's first read (MatchOn). The client's local-only
//! records are keyed by their MatchOn values (trimmed, case-insensitive); a pass over the
//! server's records finds, per key, the server records that share it. One client record and
//! one server record: the client record takes the server's id, merged by the conflict policy,
//! and lookups that pointed at its old id follow it. Anything else is ambiguous and left alone.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};

use super::Download;
use crate::db::job_log::{self, NewLog};
use crate::db::quarantine::{self, NewQuarantine};
use crate::db::records::{self, Applied, Precondition, RecordRow, WriteKind, WriteOp};
use crate::db::transactions::{self as tx, TxRow};
use crate::db::{metadata, now_micros, orgs, write_tx, DbConn, Json};
use crate::domain::jobs::LogLevel;
use crate::domain::metadata::{AttributeType, EntityDef};
use crate::domain::names::RecordId;
use crate::domain::record::{normalize, Source};
use crate::domain::safety::MatchOn;
use crate::domain::setup::ConflictPolicy;
use crate::domain::transaction::TxOp;
use crate::providers::ChangesQuery;
use crate::sync::outbox::diff;
use crate::sync::EngineError;
use crate::wire::changes::ChangeOp;

/// A server record found for a MatchOn key.
struct Candidate {
    id: String,
    version: i64,
    attributes: Map<String, Value>,
}

/// One client record adopted by one server record.
struct Adoption {
    client_id: String,
    server: Candidate,
    key: String,
}

/// Adoptions made in one database transaction.
const BATCH: usize = 100;

impl Download<'_> {
    /// Finds the one-to-one matches of the link's first read and adopts them; reports the
    /// ambiguous ones. A dry run only counts.
    pub(super) async fn find_matches(&mut self) -> Result<(), EngineError> {
        let Some(names) = self.match_on.clone() else {
            return Ok(());
        };
        let matcher = MatchOn::new(BTreeMap::from([(self.def.name.clone(), names)]))?;
        let clients = self.local_keys(&matcher).await?;
        if clients.is_empty() {
            return Ok(());
        }
        let servers = self.server_matches(&matcher, &clients).await?;
        let mut adoptions = Vec::new();
        let mut ambiguous = Vec::new();
        for (key, client_ids) in clients {
            let Some(found) = servers.get(&key) else {
                continue;
            };
            if client_ids.len() == 1 && found.len() == 1 {
                let server = found.first().map(|c| Candidate {
                    id: c.id.clone(),
                    version: c.version,
                    attributes: c.attributes.clone(),
                });
                if let (Some(server), Some(client_id)) = (server, client_ids.into_iter().next()) {
                    adoptions.push(Adoption {
                        client_id,
                        server,
                        key,
                    });
                }
            } else {
                let server_ids: Vec<&str> = found.iter().map(|c| c.id.as_str()).collect();
                for id in &client_ids {
                    let others: Vec<&str> = client_ids
                        .iter()
                        .filter(|o| *o != id)
                        .map(String::as_str)
                        .collect();
                    let mut message = format!(
                        "not adopted: MatchOn '{key}' matches the server records [{}]",
                        server_ids.join(", ")
                    );
                    if !others.is_empty() {
                        message.push_str(&format!(
                            " and also the client records [{}]",
                            others.join(", ")
                        ));
                    }
                    ambiguous.push((id.clone(), message));
                }
            }
        }
        self.summary.ambiguous += ambiguous.len() as u64;
        let lines = ambiguous
            .into_iter()
            .map(|(id, message)| {
                self.ctx
                    .entry(LogLevel::Warning, "Ambiguous", message)
                    .entity(self.entity())
                    .record(&id)
            })
            .collect();
        self.ctx.log(lines).await?;
        if self.dry_run {
            self.summary.matched += adoptions.len() as u64;
            return Ok(());
        }
        let mut rest = adoptions;
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(BATCH));
            self.ctx.checkpoint().await?;
            self.adopt(rest).await?;
            rest = tail;
        }
        Ok(())
    }

    /// The client's local-only records of the entity, by MatchOn key.
    async fn local_keys(
        &self,
        matcher: &MatchOn,
    ) -> Result<HashMap<String, Vec<String>>, EngineError> {
        let mut keys: HashMap<String, Vec<String>> = HashMap::new();
        let mut after: Option<String> = None;
        loop {
            let (org_id, entity, from) = (self.org_id, self.entity().to_owned(), after.clone());
            let rows = self
                .engine
                .db
                .run(move |conn| records::local_only(conn, org_id, &entity, from.as_deref(), 1000))
                .await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id.clone());
            for row in rows {
                let attributes = records::stored_attributes(&row)?;
                if let Some(key) = matcher.key(self.entity(), &attributes) {
                    keys.entry(key).or_default().push(row.id);
                }
            }
        }
        Ok(keys)
    }

    /// The server's in-scope records whose MatchOn key a local-only client record has.
    async fn server_matches(
        &self,
        matcher: &MatchOn,
        clients: &HashMap<String, Vec<String>>,
    ) -> Result<HashMap<String, Vec<Candidate>>, EngineError> {
        let mut found: HashMap<String, Vec<Candidate>> = HashMap::new();
        let mut since = None;
        loop {
            let query = ChangesQuery {
                since,
                entities: vec![self.entity().to_owned()],
                filters: self.filter_json.clone(),
                limit: self.engine.settings.sync_batch,
            };
            let page = self.provider.changes(&query).await?;
            self.ctx.checkpoint().await?;
            for change in page.changes {
                if change.op != ChangeOp::Upsert {
                    continue;
                }
                let given = change.attributes.unwrap_or_default();
                let Ok(attributes) = normalize(self.def, &given, Source::Json) else {
                    continue;
                };
                let Some(key) = matcher.key(self.entity(), &attributes) else {
                    continue;
                };
                if clients.contains_key(&key) {
                    found.entry(key).or_default().push(Candidate {
                        id: change.id,
                        version: change.version,
                        attributes,
                    });
                }
            }
            if !page.more {
                break;
            }
            since = Some(page.next);
        }
        Ok(found)
    }

    /// Adopts a batch in one transaction: the record under the server's id merged by the
    /// policy, the old one deleted (kept in the quarantine), lookups moved to the new id, and
    /// the client's part of the merge queued for the server when the link sends outbound.
    async fn adopt(&mut self, batch: Vec<Adoption>) -> Result<(), EngineError> {
        let (org_id, def, policy) = (self.org_id, self.def.clone(), self.policy);
        let (job_id, outbound) = (self.ctx.job_id().to_owned(), self.link.outbound);
        let max_bytes = self.engine.settings.record_max_bytes;
        let adopted = self
            .engine
            .db
            .run(move |conn| {
                write_tx(conn, |conn| {
                    adopt_batch(
                        conn, org_id, &def, policy, &job_id, outbound, &batch, max_bytes,
                    )
                })
            })
            .await?;
        self.engine.metrics.quarantined.inc_by(adopted.len() as u64);
        self.summary.matched += adopted.len() as u64;
        self.adopted.extend(adopted);
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn adopt_batch(
    conn: &mut DbConn,
    org_id: i64,
    def: &EntityDef,
    policy: ConflictPolicy,
    job_id: &str,
    outbound: bool,
    batch: &[Adoption],
    max_bytes: usize,
) -> Result<Vec<String>, EngineError> {
    let org = orgs::lock(conn, org_id)?;
    let entity = def.name.as_str();
    let current = records::load_many(
        conn,
        org_id,
        batch.iter().flat_map(|a| {
            [
                (entity, a.client_id.as_str()),
                (entity, a.server.id.as_str()),
            ]
        }),
    )?;
    let open = tx::with_open_changes(
        conn,
        org_id,
        entity,
        &batch
            .iter()
            .map(|a| a.client_id.as_str())
            .collect::<Vec<_>>(),
    )?;
    let live = |id: &str| {
        current
            .get(&(entity.to_owned(), id.to_owned()))
            .filter(|r| !r.deleted)
    };
    let now = now_micros();
    let mut ops = Vec::new();
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for a in batch {
        let Some(client) = live(&a.client_id) else {
            continue;
        };
        // Still local-only, and the server's id not taken on the client since the pass read.
        if client.server_version.is_some()
            || open.contains(&a.client_id)
            || live(&a.server.id).is_some()
        {
            continue;
        }
        let (Ok(new_id), Ok(old_id)) =
            (RecordId::parse(&a.server.id), RecordId::parse(&a.client_id))
        else {
            continue;
        };
        let mine = records::stored_attributes(client)?;
        let merged = merge(policy, &a.server.attributes, &mine);
        kept.push(NewQuarantine {
            job_id: job_id.to_owned(),
            org_id,
            entity: entity.to_owned(),
            record_id: a.client_id.clone(),
            side: quarantine::CLIENT,
            action: quarantine::OVERWRITTEN,
            attributes: Json::new(mine),
            version: client.version,
            created_on: now,
        });
        ops.push(WriteOp {
            entity: entity.to_owned(),
            id: new_id,
            kind: WriteKind::Replace,
            attributes: merged,
            text: None,
            precondition: Precondition::None,
            server_version: (a.server.version > 0).then_some(a.server.version),
        });
        ops.push(WriteOp {
            entity: entity.to_owned(),
            id: old_id,
            kind: WriteKind::Delete,
            attributes: Map::new(),
            text: None,
            precondition: Precondition::None,
            server_version: None,
        });
        taken.push(a);
    }
    quarantine::keep(conn, &kept)?;
    let defs = HashMap::from([(def.name.to_string(), def.clone())]);
    let applied = records::apply_locked(conn, &org, &defs, &ops, current, max_bytes)?;
    let mut adopted = Vec::new();
    let mut moved = HashMap::new();
    let mut queued = Vec::new();
    let mut log = Vec::new();
    for (a, pair) in taken.iter().zip(applied.chunks(2)) {
        let (Some(Ok(Applied::Created(row))), Some(Ok(Applied::Deleted(_)))) =
            (pair.first(), pair.get(1))
        else {
            log.push(
                NewLog::new(
                    job_id,
                    LogLevel::Error,
                    "Fail",
                    format!("not adopted by the server record {}", a.server.id),
                )
                .entity(entity)
                .record(&a.client_id),
            );
            continue;
        };
        let mine = diff(&a.server.attributes, &records::stored_attributes(row)?);
        if outbound && !mine.is_empty() {
            queued.push(TxRow::pending(
                org_id,
                row,
                TxOp::Update,
                Some(mine),
                a.server.version,
                now,
            ));
        }
        moved.insert(a.client_id.clone(), a.server.id.clone());
        log.push(
            NewLog::new(
                job_id,
                LogLevel::Info,
                "Match",
                format!(
                    "adopted by the server record {} (MatchOn '{}'), merged by {}; the record as \
                     it was is kept in the job's quarantine",
                    a.server.id, a.key, policy
                ),
            )
            .entity(entity)
            .record(&a.client_id),
        );
        adopted.push(a.server.id.clone());
    }
    tx::insert(conn, &queued)?;
    follow_lookups(conn, org_id, entity, &moved, max_bytes)?;
    job_log::append(conn, &log)?;
    Ok(adopted)
}

/// The attributes of an adopted record: the server's and the client's, merged by the policy.
/// ServerWins (and Manual) keep the server's values and fill what it leaves empty from the
/// client; ClientWins keeps the client's values over the server's; ClientWinsFull keeps the
/// client's record whole.
fn merge(
    policy: ConflictPolicy,
    server: &Map<String, Value>,
    client: &Map<String, Value>,
) -> Map<String, Value> {
    let present = |m: &Map<String, Value>| -> Map<String, Value> {
        m.iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (base, over) = match policy {
        ConflictPolicy::ClientWinsFull => return present(client),
        ConflictPolicy::ClientWins => (server, client),
        ConflictPolicy::ServerWins | ConflictPolicy::Manual => (client, server),
    };
    let mut merged = present(base);
    merged.extend(present(over));
    merged
}

/// Points the client's lookups at adopted records' new ids: every lookup attribute, of any
/// entity, that targets `entity` and holds an old id. These are the client's own records, so
/// the rewrite is not sent anywhere.
fn follow_lookups(
    conn: &mut DbConn,
    org_id: i64,
    entity: &str,
    moved: &HashMap<String, String>,
    max_bytes: usize,
) -> Result<(), EngineError> {
    if moved.is_empty() {
        return Ok(());
    }
    let defs: HashMap<String, EntityDef> = metadata::entities(conn, org_id)?
        .into_iter()
        .map(|d| (d.name.to_string(), d))
        .collect();
    let mut ops = Vec::new();
    for def in defs.values() {
        let lookups: Vec<&str> = def
            .attributes
            .iter()
            .filter(|a| {
                a.kind == AttributeType::Lookup
                    && a.target.as_ref().is_some_and(|t| t.as_str() == entity)
            })
            .map(|a| a.name.as_str())
            .collect();
        if lookups.is_empty() {
            continue;
        }
        let mut seen = HashSet::new();
        for old in moved.keys() {
            for row in records::referring(conn, org_id, def.name.as_str(), old)? {
                if !seen.insert(row.id.clone()) {
                    continue;
                }
                if let Some(op) = rewrite(&row, &lookups, moved)? {
                    ops.push(op);
                }
            }
        }
    }
    if ops.is_empty() {
        return Ok(());
    }
    let org = orgs::lock(conn, org_id)?;
    let current = records::load_many(
        conn,
        org_id,
        ops.iter().map(|op| (op.entity.as_str(), op.id.as_str())),
    )?;
    records::apply_locked(conn, &org, &defs, &ops, current, max_bytes)?;
    Ok(())
}

/// The write that moves `row`'s lookups to the new ids, when one of them holds an old id.
fn rewrite(
    row: &RecordRow,
    lookups: &[&str],
    moved: &HashMap<String, String>,
) -> Result<Option<WriteOp>, EngineError> {
    let attributes = records::stored_attributes(row)?;
    let mut changed = Map::new();
    for name in lookups {
        if let Some(Value::String(old)) = attributes.get(*name) {
            if let Some(new) = moved.get(old) {
                changed.insert((*name).to_owned(), Value::String(new.clone()));
            }
        }
    }
    if changed.is_empty() {
        return Ok(None);
    }
    let Ok(id) = RecordId::parse(&row.id) else {
        return Ok(None);
    };
    Ok(Some(WriteOp {
        entity: row.entity.clone(),
        id,
        kind: WriteKind::Merge,
        attributes: changed,
        text: None,
        precondition: Precondition::None,
        server_version: None,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_policy_decides_whose_values_an_adopted_record_keeps() {
        let server = map(json!({"name": "Contoso", "city": "Oslo", "phone": null}));
        let client = map(json!({"name": "contoso ", "city": "Bergen", "note": "mine"}));
        assert_eq!(
            merge(ConflictPolicy::ServerWins, &server, &client),
            map(json!({"name": "Contoso", "city": "Oslo", "note": "mine"}))
        );
        assert_eq!(
            merge(ConflictPolicy::ClientWins, &server, &client),
            map(json!({"name": "contoso ", "city": "Bergen", "note": "mine"}))
        );
        assert_eq!(
            merge(ConflictPolicy::ClientWinsFull, &server, &client),
            client
        );
    }
}
