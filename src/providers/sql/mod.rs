//! The sql provider: a server org that is the tables of an external PostgreSQL or SQLite
//! database (`DESIGN.md` §4, "The sql provider").
//!
//! diesel reaches both databases, as it does orgsync's own: tables known only at run time are
//! read through `sql_query` with one fixed row shape (the row as JSON text, built by the
//! database), so no dynamic row decoding is needed and every value keeps its digits.
//!
//! Tokens: a full read pages by primary key and its token is `full:{position}:{last key}`,
//! where the position is the change log's, taken before the read began; the read's last page
//! hands that position on, and incremental reads take the change log from there. A change log
//! row says only which record changed: the record's state is read when the change is.
//!
//! Filters: what the database can decide of a link's filter narrows a full read's pages
//! ([`pushdown`]); every row read is then evaluated by the filter itself.

pub mod capture;
pub mod catalog;
mod digests;
mod introspect;
mod log;
mod pushdown;
mod read;
mod store;
pub mod url;
mod values;
mod write;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use serde_json::Value;

use self::capture::{Captured, Position};
use self::catalog::{kind_of, LeftOut};
use self::read::{corrupt, filter_of, full_page, incremental_page};
use self::store::{failed, Shape, Store};
use self::url::Target;
use self::values::{key_object, record_of, version_of};
use self::write::Entities;
use super::{
    ChangesQuery, Provider, ProviderConfig, ProviderError, RemoteChanges, RemoteRecord, Written,
};
use crate::domain::error::Code;
use crate::domain::metadata::{AttributeType, EntityDef};
use crate::wire::batch::BatchOperation;
use crate::wire::compare::{DigestRange, Digests};
use crate::wire::explain::{Explained, ExplainedRecord};

/// The start of a full read's token.
const FULL: &str = "full:";
/// Rows read per page while Explain counts.
const EXPLAIN_PAGE: i64 = 1000;

pub struct SqlProvider {
    config: ProviderConfig,
    target: Target,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    store: Option<Store>,
    /// The catalog as last read: the entities with where their rows are.
    entities: Option<Entities>,
    left_out: Vec<LeftOut>,
    /// The change log was pruned by this provider (once is enough for a job).
    pruned: bool,
    /// The rows Compare digested last, for its next rounds.
    digested: Option<digests::Digested>,
}

impl State {
    fn store(
        &mut self,
        config: &ProviderConfig,
        target: &Target,
    ) -> Result<&mut Store, ProviderError> {
        if self.store.is_none() {
            self.store = Some(Store::open(
                target,
                &config.user_name,
                &config.password,
                config.timeout,
                &config.policy,
            )?);
        }
        self.store
            .as_mut()
            .ok_or_else(|| ProviderError::Unavailable("no database connection".to_owned()))
    }

    /// Reads the catalog again.
    fn read_catalog(
        &mut self,
        config: &ProviderConfig,
        target: &Target,
    ) -> Result<(), ProviderError> {
        let tables = self.store(config, target)?.tables().map_err(|e| match e {
            diesel::result::Error::NotFound => ProviderError::NotFound {
                code: "schema_not_found".to_owned(),
                message: "the database has no such schema".to_owned(),
            },
            other => failed(other),
        })?;
        let (defs, left_out) = catalog::entities(&tables);
        let mut entities = Entities::new();
        for def in defs {
            let Some(table) = tables.iter().find(|t| t.name == def.name.as_str()) else {
                continue;
            };
            let key = def.primary_key.to_string();
            let numeric_key = table
                .columns
                .iter()
                .find(|c| c.name == key)
                .and_then(|c| kind_of(&c.data_type))
                .is_some_and(|(kind, _)| kind == AttributeType::Integer);
            let mut columns = vec![key.clone()];
            columns.extend(def.attributes.iter().map(|a| a.name.to_string()));
            let shape = Shape {
                table: table.name.clone(),
                key,
                numeric_key,
                columns,
            };
            entities.insert(def.name.to_string(), (def, shape));
        }
        self.entities = Some(entities);
        self.left_out = left_out;
        Ok(())
    }

    fn entities(
        &mut self,
        config: &ProviderConfig,
        target: &Target,
    ) -> Result<&Entities, ProviderError> {
        if self.entities.is_none() {
            self.read_catalog(config, target)?;
        }
        self.entities
            .as_ref()
            .ok_or_else(|| ProviderError::Unavailable("the catalog was not read".to_owned()))
    }

    fn entity(
        &mut self,
        config: &ProviderConfig,
        target: &Target,
        name: &str,
    ) -> Result<(EntityDef, Shape), ProviderError> {
        self.entities(config, target)?
            .get(name)
            .cloned()
            .ok_or_else(|| ProviderError::NotFound {
                code: Code::EntityNotFound.as_str().to_owned(),
                message: format!("entity '{name}' is not a table of this database"),
            })
    }
}

impl SqlProvider {
    pub fn new(config: ProviderConfig) -> Result<Self, ProviderError> {
        let target = url::parse_url(&config.url).map_err(|message| ProviderError::Setup {
            code: Code::InvalidUrl,
            message,
        })?;
        Ok(Self {
            config,
            target,
            state: Arc::default(),
        })
    }

    /// Runs `f` with the database off the async runtime. A lost connection is dropped, so the
    /// next call opens a new one.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut State, &ProviderConfig, &Target) -> Result<T, ProviderError>
            + Send
            + 'static,
    ) -> Result<T, ProviderError> {
        let (state, config, target) =
            (self.state.clone(), self.config.clone(), self.target.clone());
        tokio::task::spawn_blocking(move || {
            let mut state = state.lock().map_err(|_| {
                ProviderError::Unavailable("the database connection is poisoned".to_owned())
            })?;
            let out = f(&mut state, &config, &target);
            if matches!(out, Err(ProviderError::Unavailable(_))) {
                state.store = None;
            }
            out
        })
        .await
        .map_err(|e| ProviderError::Unavailable(format!("the database call failed: {e}")))?
    }
}

#[async_trait]
impl Provider for SqlProvider {
    async fn authenticate(&self) -> Result<(), ProviderError> {
        self.with(|state, config, target| state.store(config, target).map(|_| ()))
            .await
    }

    async fn metadata(&self) -> Result<Vec<EntityDef>, ProviderError> {
        self.with(|state, config, target| {
            state.read_catalog(config, target)?;
            let mut defs: Vec<EntityDef> = state
                .entities(config, target)?
                .values()
                .map(|(d, _)| d.clone())
                .collect();
            defs.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(defs)
        })
        .await
    }

    fn left_out(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.left_out.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    async fn prepare(&self, selected: &[EntityDef]) -> Result<Vec<String>, ProviderError> {
        let consent = self.config.change_capture;
        let names: Vec<String> = selected.iter().map(|d| d.name.to_string()).collect();
        self.with(move |state, config, target| {
            let mut tables = Vec::new();
            for name in &names {
                let (_, shape) = state.entity(config, target, name)?;
                tables.push(Captured {
                    table: shape.table,
                    key: shape.key,
                });
            }
            let store = state.store(config, target)?;
            let statements = store.install_statements(&tables);
            if !consent {
                return Err(ProviderError::Setup {
                    code: Code::ChangeCaptureNotInstalled,
                    message: format!(
                        "the sql provider reads changes through a change log and triggers it \
                         creates in the database, and needs consent for that: connect again with \
                         InstallChangeCapture true. It would run: {}",
                        statements.join("; ")
                    ),
                });
            }
            store.install(&tables).map_err(failed)?;
            Ok(vec![format!(
                "change capture installed on {}: {}",
                names.join(", "),
                statements.len()
            )])
        })
        .await
    }

    async fn unprepare(&self) -> Result<Vec<String>, ProviderError> {
        self.with(|state, config, target| {
            state.store(config, target)?.uninstall().map_err(failed)?;
            Ok(vec![
                "change capture removed: its change log, tables, function and triggers".to_owned(),
            ])
        })
        .await
    }

    async fn changes(&self, query: &ChangesQuery) -> Result<RemoteChanges, ProviderError> {
        let [entity] = query.entities.as_slice() else {
            return Err(ProviderError::Rejected {
                code: Code::InvalidParams.as_str().to_owned(),
                message: "the sql provider reads one entity at a time".to_owned(),
            });
        };
        let (entity, query) = (entity.clone(), query.clone());
        let retention = i64::try_from(self.config.retention.as_secs()).unwrap_or(i64::MAX);
        self.with(move |state, config, target| {
            let (def, shape) = state.entity(config, target, &entity)?;
            let filters = filter_of(query.filters.as_ref(), &def)?;
            let limit = query.limit.max(1);
            if !state.pruned {
                state
                    .store(config, target)?
                    .prune(retention)
                    .map_err(failed)?;
                state.pruned = true;
            }
            let store = state.store(config, target)?;
            match query.since.as_deref() {
                None | Some("") => {
                    let start = store.start().map_err(failed)?;
                    full_page(store, &def, &shape, filters.as_ref(), start, None, limit)
                }
                Some(token) => match token.strip_prefix(FULL) {
                    Some(rest) => {
                        let (start, after) = rest
                            .split_once(':')
                            .and_then(|(p, k)| Some((Position::parse(p)?, k)))
                            .ok_or(ProviderError::TokenExpired)?;
                        full_page(
                            store,
                            &def,
                            &shape,
                            filters.as_ref(),
                            start,
                            Some(after),
                            limit,
                        )
                    }
                    None => {
                        let after = Position::parse(token).ok_or(ProviderError::TokenExpired)?;
                        incremental_page(
                            store,
                            &def,
                            &shape,
                            filters.as_ref(),
                            &config.writer,
                            after,
                            limit,
                        )
                    }
                },
            }
        })
        .await
    }

    async fn explain(
        &self,
        entity: &str,
        filters: Option<&Value>,
        ids: &[String],
    ) -> Result<Explained, ProviderError> {
        let (entity, filters, ids) = (entity.to_owned(), filters.cloned(), ids.to_vec());
        self.with(move |state, config, target| {
            let (def, shape) = state.entity(config, target, &entity)?;
            let filters = filter_of(filters.as_ref(), &def)?;
            let store = state.store(config, target)?;
            let mut out = Explained {
                total: u64::try_from(store.count(&shape).map_err(failed)?).unwrap_or(0),
                ..Explained::default()
            };
            let now = Utc::now();
            match &filters {
                None => out.in_scope = out.total,
                Some(f) => {
                    // Read in pages of what the database can already tell is in scope.
                    let condition = f
                        .filter_for(&entity)
                        .and_then(|filter| pushdown::condition(filter, &def, store.dialect()));
                    let mut after: Option<String> = None;
                    loop {
                        let rows = store
                            .page(&shape, after.as_deref(), condition.as_deref(), EXPLAIN_PAGE)
                            .map_err(failed)?;
                        let mut last = None;
                        for text in &rows {
                            let (id, attributes) =
                                record_of(&def, &shape, text).map_err(corrupt)?;
                            out.in_scope += u64::from(f.matches(&entity, &attributes, now));
                            last = Some(id);
                        }
                        match last {
                            Some(id) if rows.len() as i64 == EXPLAIN_PAGE => {
                                after = Some(Value::Object(key_object(&shape, &id)).to_string())
                            }
                            _ => break,
                        }
                    }
                }
            }
            let keys = Value::Array(
                ids.iter()
                    .map(|id| Value::Object(key_object(&shape, id)))
                    .collect(),
            )
            .to_string();
            let mut found = std::collections::HashMap::new();
            for text in store.rows(&shape, &keys).map_err(failed)? {
                let (id, attributes) = record_of(&def, &shape, &text).map_err(corrupt)?;
                found.insert(id, attributes);
            }
            out.records = ids
                .into_iter()
                .map(|id| match found.get(&id) {
                    None => ExplainedRecord {
                        id,
                        exists: false,
                        in_scope: false,
                        failed: Vec::new(),
                    },
                    Some(attributes) => {
                        let failed = filters
                            .as_ref()
                            .map(|f| f.explain(&entity, attributes, now))
                            .unwrap_or_default();
                        ExplainedRecord {
                            id,
                            exists: true,
                            in_scope: failed.is_empty(),
                            failed: failed.into_iter().map(Into::into).collect(),
                        }
                    }
                })
                .collect();
            Ok(out)
        })
        .await
    }

    async fn digests(
        &self,
        entity: &str,
        filters: Option<&Value>,
        ranges: &[DigestRange],
    ) -> Result<Digests, ProviderError> {
        let (entity, filters, ranges) = (entity.to_owned(), filters.cloned(), ranges.to_vec());
        self.with(move |state, config, target| {
            let (def, shape) = state.entity(config, target, &entity)?;
            state.store(config, target)?;
            let State {
                store: Some(store),
                digested,
                ..
            } = state
            else {
                return Err(ProviderError::Unavailable(
                    "no database connection".to_owned(),
                ));
            };
            digests::digests(store, digested, &def, &shape, filters.as_ref(), &ranges)
        })
        .await
    }

    async fn count(&self, entity: &str) -> Result<Option<u64>, ProviderError> {
        let entity = entity.to_owned();
        self.with(move |state, config, target| {
            let (_, shape) = state.entity(config, target, &entity)?;
            let n = state.store(config, target)?.count(&shape).map_err(failed)?;
            Ok(u64::try_from(n).ok())
        })
        .await
    }

    async fn record(&self, entity: &str, id: &str) -> Result<Option<RemoteRecord>, ProviderError> {
        let (entity, id) = (entity.to_owned(), id.to_owned());
        self.with(move |state, config, target| {
            let (def, shape) = state.entity(config, target, &entity)?;
            let keys = Value::Array(vec![Value::Object(key_object(&shape, &id))]).to_string();
            let rows = state
                .store(config, target)?
                .rows(&shape, &keys)
                .map_err(failed)?;
            let Some(text) = rows.first() else {
                return Ok(None);
            };
            let (id, attributes) = record_of(&def, &shape, text).map_err(corrupt)?;
            let now = Utc::now();
            Ok(Some(RemoteRecord {
                id,
                entity,
                version: version_of(&attributes),
                created_on: now,
                modified_on: now,
                attributes,
            }))
        })
        .await
    }

    async fn write_batch(
        &self,
        idempotency_key: &str,
        operations: &[BatchOperation],
    ) -> Result<Vec<Written>, ProviderError> {
        let (key, operations) = (idempotency_key.to_owned(), operations.to_vec());
        self.with(move |state, config, target| {
            state.entities(config, target)?;
            state.store(config, target)?;
            let (Some(store), Some(entities)) = (state.store.as_mut(), state.entities.as_ref())
            else {
                return Err(ProviderError::Unavailable(
                    "no database connection".to_owned(),
                ));
            };
            write::write_batch(store, entities, &config.writer, &key, &operations)
        })
        .await
    }
}
