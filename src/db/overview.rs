//! What the admin console's lists read in one go: every connection with its org's name, and
//! how many transactions each org holds by status.

use std::collections::HashMap;

use diesel::prelude::*;

use super::connections::ConnectionRow;
use super::jobs::JobRow;
use super::schema::{connections, jobs, orgs, transactions};
use super::{DbConn, DbResult};
use crate::domain::jobs::JobStatus;
use crate::domain::transaction::TxStatus;

/// Every connection (of `org` only, when given), with its org's name, by org name.
pub fn connections(conn: &mut DbConn, org: Option<&str>) -> DbResult<Vec<(String, ConnectionRow)>> {
    let mut q = connections::table
        .inner_join(orgs::table.on(orgs::id.eq(connections::org_id)))
        .select((orgs::name, ConnectionRow::as_select()))
        .order(orgs::name.asc())
        .into_boxed();
    if let Some(org) = org {
        q = q.filter(orgs::name.eq(org.to_owned()));
    }
    Ok(q.load(conn)?)
}

/// How many transactions of each status each org holds (org id → status → count).
pub fn transaction_counts(
    conn: &mut DbConn,
    org_ids: &[i64],
) -> DbResult<HashMap<i64, HashMap<TxStatus, i64>>> {
    let rows: Vec<(i64, TxStatus, i64)> = transactions::table
        .filter(transactions::org_id.eq_any(org_ids))
        .group_by((transactions::org_id, transactions::status))
        .select((
            transactions::org_id,
            transactions::status,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let mut out: HashMap<i64, HashMap<TxStatus, i64>> = HashMap::new();
    for (org, status, n) in rows {
        out.entry(org).or_default().insert(status, n);
    }
    Ok(out)
}

/// The jobs not finished yet (queued, running or held) of these orgs, oldest first.
pub fn active_jobs(conn: &mut DbConn, orgs: &[String]) -> DbResult<Vec<JobRow>> {
    Ok(jobs::table
        .filter(jobs::org_name.eq_any(orgs))
        .filter(jobs::status.eq_any(JobStatus::ACTIVE))
        .order(jobs::id.asc())
        .select(JobRow::as_select())
        .load(conn)?)
}
