//! Explain: what a filter keeps of an entity's server records, counted where the records are.
//! A client org asks through its link's provider ([`Engine::explain_link`]); an org answers
//! for its own records ([`Engine::explain_org`]), which is what the orgsync provider calls.
//! Nothing is downloaded: only the counts and the named records' verdicts travel.

use chrono::Utc;
use serde_json::{json, Value};

use super::feed::filterable;
use super::{Engine, EngineError};
use crate::db::{connections, metadata, orgs, records};
use crate::domain::error::{link_not_found, Code, Refusal};
use crate::domain::filter::{SyncFilters, ValidFilters};
use crate::domain::metadata::EntityDef;
use crate::wire::explain::{
    ExplainRequest, Explained, ExplainedRecord, ServerExplainRequest, MAX_EXPLAINED,
};

/// Records read per page while counting.
const PAGE: i64 = 1000;

fn check_ids(ids: &[String]) -> Result<(), Refusal> {
    if ids.len() > MAX_EXPLAINED {
        return Err(Refusal::new(
            Code::InvalidField,
            format!(
                "RecordIds names {} records; at most {MAX_EXPLAINED} are explained at once",
                ids.len()
            ),
        )
        .field("RecordIds"));
    }
    Ok(())
}

/// The filters of a request, typed by the entity's definition.
pub(super) fn typed(
    filters: Option<&Value>,
    def: &EntityDef,
) -> Result<Option<ValidFilters>, Refusal> {
    let Some(json) = filters else {
        return Ok(None);
    };
    let parsed = SyncFilters::from_json(json).map_err(Refusal::from)?;
    parsed.validate_for(def).map(Some).map_err(Refusal::from)
}

/// One entity's filter given in XML: a `<filter>` element, or a `<SyncFilters>` document.
fn from_xml(entity: &str, xml: &str) -> Result<SyncFilters, Refusal> {
    let text = xml.trim();
    let document = if text.starts_with("<SyncFilters") {
        text.to_owned()
    } else {
        format!("<SyncFilters><Entity name=\"{entity}\">{text}</Entity></SyncFilters>")
    };
    let parsed = SyncFilters::parse_xml(&document).map_err(Refusal::from)?;
    if let Some(other) = parsed.entities.keys().find(|e| *e != entity) {
        return Err(Refusal::new(
            Code::InvalidFilter,
            format!("SyncFilterXml filters entity '{other}', not '{entity}'"),
        )
        .field("SyncFilterXml"));
    }
    Ok(parsed)
}

impl Engine {
    /// What `req`'s filter (or the link's own) keeps of the server's records of `entity`, and
    /// why the named ones are in or out, asked of the server through the link's provider.
    pub async fn explain_link(
        &self,
        org: &str,
        entity: &str,
        req: ExplainRequest,
    ) -> Result<Explained, EngineError> {
        let ids = req.record_ids.unwrap_or_default();
        check_ids(&ids)?;
        let given = match (req.sync_filter, req.sync_filter_xml) {
            (Some(_), Some(_)) => {
                return Err(Refusal::new(
                    Code::InvalidFilter,
                    "give SyncFilter or SyncFilterXml, not both",
                )
                .field("SyncFilter")
                .into())
            }
            (Some(json), None) => {
                Some(SyncFilters::from_json(&json!({ entity: json })).map_err(Refusal::from)?)
            }
            (None, Some(xml)) => Some(from_xml(entity, &xml)?),
            (None, None) => None,
        };
        let (org, entity_name) = (org.to_owned(), entity.to_owned());
        let (connection, filters) = self
            .db
            .run(move |conn| {
                let (org_row, connection) = connections::of_org(conn, &org)?;
                let link = connections::link(conn, org_row.id, &entity_name)?
                    .ok_or_else(|| link_not_found(&entity_name))?;
                let filters = match given {
                    Some(parsed) => {
                        // Typed by the client's metadata, which is the server's: a bad filter
                        // is refused here, before the server is asked.
                        let def = metadata::require_entity(conn, org_row.id, &entity_name)?;
                        let valid = parsed.validate_for(&def).map_err(Refusal::from)?;
                        Some(valid.to_json())
                    }
                    None => link
                        .sync_filter
                        .as_ref()
                        .map(|f| json!({ entity_name.as_str(): f.get() })),
                };
                Ok::<_, EngineError>((connection, filters))
            })
            .await?;
        let provider = self.provider_for(&connection)?;
        Ok(provider.explain(entity, filters.as_ref(), &ids).await?)
    }

    /// Explain on an org's own records: counted in pages, never held whole.
    pub async fn explain_org(
        &self,
        org: &str,
        req: ServerExplainRequest,
    ) -> Result<Explained, EngineError> {
        check_ids(&req.record_ids)?;
        let org = org.to_owned();
        self.db
            .run(move |conn| {
                let org = orgs::require(conn, &org)?;
                let def = metadata::require_entity(conn, org.id, &req.entity)?;
                let filters = typed(req.sync_filters.as_ref(), &def)?;
                let now = Utc::now();
                let mut out = Explained::default();
                match &filters {
                    // Without a filter, every record is in scope: a count says it.
                    None => {
                        out.total = records::count(conn, org.id, &req.entity)?;
                        out.in_scope = out.total;
                    }
                    Some(f) => {
                        let mut after: Option<String> = None;
                        loop {
                            let page =
                                records::list(conn, org.id, &req.entity, after.as_deref(), PAGE)?;
                            for row in &page {
                                out.total += 1;
                                let kept = f.matches(&req.entity, &filterable(row)?, now);
                                out.in_scope += u64::from(kept);
                            }
                            match page.last() {
                                Some(last) if page.len() as i64 == PAGE => {
                                    after = Some(last.id.clone())
                                }
                                _ => break,
                            }
                        }
                    }
                }
                for id in &req.record_ids {
                    let row = records::get(conn, org.id, &req.entity, id)?.filter(|r| !r.deleted);
                    out.records.push(match row {
                        None => ExplainedRecord {
                            id: id.clone(),
                            exists: false,
                            in_scope: false,
                            failed: Vec::new(),
                        },
                        Some(row) => {
                            let failed = match &filters {
                                Some(f) => f.explain(&req.entity, &filterable(&row)?, now),
                                None => Vec::new(),
                            };
                            ExplainedRecord {
                                id: id.clone(),
                                exists: true,
                                in_scope: failed.is_empty(),
                                failed: failed.into_iter().map(Into::into).collect(),
                            }
                        }
                    });
                }
                Ok(out)
            })
            .await
    }
}
