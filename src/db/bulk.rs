//! The multi-row statements on records, per backend. On PostgreSQL a batch's rows are read,
//! inserted and updated with one statement each, every column bound as one array, so that a
//! statement's parameters and its plan do not grow with the batch; SQLite takes chunks, or
//! one prepared statement per row where diesel cannot batch.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Binary, Bool, Nullable, Text};

use super::records::{RecordRow, CHUNK};
use super::schema::records;
use super::{DbConn, DbResult};

/// The named records of one entity: one primary-key lookup per id, whatever
/// the table's statistics say. With `id = ANY($3)` a table not analyzed since it grew (a first
/// sync fills it within seconds) was read through the (org, entity) prefix of the key alone,
/// every row of the org filtered against the list: 14 ms per batch and growing with the table.
/// The `LIMIT 1` keeps the lateral subquery from being flattened into that same plan.
const LOAD_BY_KEYS: &str = "\
    SELECT r.* FROM unnest($3::text[]) AS k(id) \
    CROSS JOIN LATERAL (SELECT * FROM records \
                        WHERE org_id = $1 AND entity = $2 AND id = k.id LIMIT 1) AS r";

/// The writes of a batch of rows: each takes one array per column (eleven parameters
/// however many rows), where a multi-row `VALUES` list bound nine parameters per row and was
/// planned anew at every execution (`plan_cache_mode = force_custom_plan`). New rows are plain
/// inserts and stored ones plain updates: the caller holds the org's lock and read the stored
/// rows, so no `ON CONFLICT` (a speculative insertion per row) is needed.
const INSERT_BY_ARRAYS: &str = "\
    INSERT INTO records (org_id, entity, id, version, created_version, created_on, modified_on, \
                         deleted, attributes, server_version, digest) \
    SELECT * FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[], \
                         $6::int8[], $7::int8[], $8::bool[], $9::text[], $10::int8[], \
                         $11::bytea[])";
const UPDATE_BY_ARRAYS: &str = "\
    UPDATE records AS r SET version = v.version, created_version = v.created_version, \
        created_on = v.created_on, modified_on = v.modified_on, deleted = v.deleted, \
        attributes = v.attributes, server_version = v.server_version, digest = v.digest \
    FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::int8[], \
                $7::int8[], $8::bool[], $9::text[], $10::int8[], $11::bytea[]) \
        AS v(org_id, entity, id, version, created_version, created_on, modified_on, deleted, \
             attributes, server_version, digest) \
    WHERE r.org_id = v.org_id AND r.entity = v.entity AND r.id = v.id";

/// The current rows (tombstones included) of these ids of `entity`.
pub fn load(
    c: &mut PgConnection,
    org_id: i64,
    entity: &str,
    ids: Vec<&str>,
) -> DbResult<Vec<RecordRow>> {
    Ok(diesel::sql_query(LOAD_BY_KEYS)
        .bind::<BigInt, _>(org_id)
        .bind::<Text, _>(entity)
        .bind::<Array<Text>, _>(ids)
        .load(c)?)
}

/// Inserts rows none of which is stored yet.
fn insert(c: &mut PgConnection, rows: &[&RecordRow]) -> DbResult<()> {
    write_by_arrays(c, INSERT_BY_ARRAYS, rows)
}

/// Replaces stored rows, found by their keys.
fn update(c: &mut PgConnection, rows: &[&RecordRow]) -> DbResult<()> {
    write_by_arrays(c, UPDATE_BY_ARRAYS, rows)
}

/// Sets the server's version of each `(entity, id, version)`.
fn set_server_versions_pg(
    c: &mut PgConnection,
    org_id: i64,
    versions: &[(&str, &str, i64)],
) -> DbResult<()> {
    diesel::sql_query(
        "UPDATE records AS r SET server_version = v.version \
         FROM unnest($2::text[], $3::text[], $4::int8[]) AS v(entity, id, version) \
         WHERE r.org_id = $1 AND r.entity = v.entity AND r.id = v.id",
    )
    .bind::<BigInt, _>(org_id)
    .bind::<Array<Text>, _>(versions.iter().map(|v| v.0).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(versions.iter().map(|v| v.1).collect::<Vec<_>>())
    .bind::<Array<BigInt>, _>(versions.iter().map(|v| v.2).collect::<Vec<_>>())
    .execute(c)?;
    Ok(())
}

/// Runs [`INSERT_BY_ARRAYS`] or [`UPDATE_BY_ARRAYS`] on `rows`, whose keys are unique.
fn write_by_arrays(c: &mut PgConnection, sql: &str, rows: &[&RecordRow]) -> DbResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let longs = |f: fn(&RecordRow) -> i64| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    let texts = |f: fn(&RecordRow) -> &str| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    diesel::sql_query(sql)
        .bind::<Array<BigInt>, _>(longs(|r| r.org_id))
        .bind::<Array<Text>, _>(texts(|r| &r.entity))
        .bind::<Array<Text>, _>(texts(|r| &r.id))
        .bind::<Array<BigInt>, _>(longs(|r| r.version))
        .bind::<Array<BigInt>, _>(longs(|r| r.created_version))
        .bind::<Array<BigInt>, _>(longs(|r| r.created_on))
        .bind::<Array<BigInt>, _>(longs(|r| r.modified_on))
        .bind::<Array<Bool>, _>(rows.iter().map(|r| r.deleted).collect::<Vec<_>>())
        .bind::<Array<Text>, _>(texts(|r| &r.attributes))
        .bind::<Array<Nullable<BigInt>>, _>(
            rows.iter().map(|r| r.server_version).collect::<Vec<_>>(),
        )
        .bind::<Array<Nullable<Binary>>, _>(
            rows.iter().map(|r| r.digest.as_deref()).collect::<Vec<_>>(),
        )
        .execute(c)?;
    Ok(())
}

/// Records the server's versions of client records, `(entity, id, version)` each, as the
/// answers to an upload give them: one statement for all on PostgreSQL, one per chunk on
/// SQLite, where a per-record UPDATE cost most of an upload's settling.
pub fn set_server_versions(
    conn: &mut DbConn,
    org_id: i64,
    versions: &[(&str, &str, i64)],
) -> DbResult<()> {
    use diesel::sql_types::{BigInt, Text};
    if versions.is_empty() {
        return Ok(());
    }
    match conn {
        DbConn::Pg(c) => set_server_versions_pg(c, org_id, versions)?,
        DbConn::Sqlite(c) => {
            for chunk in versions.chunks(CHUNK) {
                let sql = format!(
                    "UPDATE records SET server_version = v.column3 FROM (VALUES {}) AS v \
                     WHERE records.org_id = ? AND records.entity = v.column1 \
                     AND records.id = v.column2",
                    vec!["(?, ?, ?)"; chunk.len()].join(", ")
                );
                let mut q = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
                for (entity, id, version) in chunk {
                    q = q
                        .bind::<Text, _>(*entity)
                        .bind::<Text, _>(*id)
                        .bind::<BigInt, _>(*version);
                }
                q.bind::<BigInt, _>(org_id).execute(c)?;
            }
        }
    }
    Ok(())
}

/// Writes whole rows, inserting new ones and replacing existing ones (`existed` tells which are
/// stored already). On PostgreSQL one INSERT for the new ones and one UPDATE for the others,
/// whose rows come from arrays bound once per column ([`insert`], [`update`]); on SQLite, whose diesel
/// backend neither batches nor caches an upsert, a plain INSERT or UPDATE per row: both are prepared once and
/// reused, which inside one transaction is about as fast as a multi-row write.
pub fn upsert_rows(
    conn: &mut DbConn,
    rows: &[&RecordRow],
    existed: impl Fn(&str, &str) -> bool,
) -> DbResult<()> {
    match conn {
        DbConn::Pg(c) => {
            let (stored, new): (Vec<&RecordRow>, Vec<&RecordRow>) =
                rows.iter().partition(|r| existed(&r.entity, &r.id));
            insert(c, &new)?;
            update(c, &stored)?;
        }
        DbConn::Sqlite(c) => {
            for row in rows {
                if existed(&row.entity, &row.id) {
                    diesel::update(records::table.find((
                        row.org_id,
                        row.entity.as_str(),
                        row.id.as_str(),
                    )))
                    .set((
                        records::version.eq(row.version),
                        records::created_version.eq(row.created_version),
                        records::created_on.eq(row.created_on),
                        records::modified_on.eq(row.modified_on),
                        records::deleted.eq(row.deleted),
                        records::attributes.eq(&row.attributes),
                        records::server_version.eq(row.server_version),
                        records::digest.eq(&row.digest),
                    ))
                    .execute(c)?;
                } else {
                    diesel::insert_into(records::table)
                        .values(*row)
                        .execute(c)?;
                }
            }
        }
    }
    Ok(())
}
