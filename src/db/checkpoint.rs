//! SQLite's WAL checkpoints, off the writers' path. By default the writer whose commit takes
//! the WAL past 1000 pages copies them into the database file and syncs it, inside that
//! commit: on a large file a sync of a thousand scattered changes did so every time, and the
//! `fsync` was a sixth of it. Here a thread of the pool checkpoints on its own connection
//! every second (`PASSIVE`: it never waits for, nor blocks, readers and writers), and a writer
//! checkpoints only when the WAL has grown past [`WRITER_PAGES`] regardless.

use std::path::PathBuf;
use std::sync::Weak;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

/// The WAL size at which a writer checkpoints itself (`wal_autocheckpoint`): 64 MiB of 4 KiB
/// pages, reached only when the background checkpoint cannot keep up.
pub(super) const WRITER_PAGES: u32 = 16_384;

const EVERY: Duration = Duration::from_secs(1);

/// Checkpoints the database at `path` every second for as long as `alive` can be upgraded
/// (the pool's handles hold it).
pub(super) fn spawn(path: PathBuf, alive: Weak<()>) {
    let spawned = std::thread::Builder::new()
        .name("sqlite-checkpoint".to_owned())
        .spawn(move || {
            let mut conn: Option<SqliteConnection> = None;
            loop {
                std::thread::sleep(EVERY);
                if alive.upgrade().is_none() {
                    return;
                }
                if conn.is_none() {
                    conn = SqliteConnection::establish(&path.to_string_lossy()).ok();
                }
                let Some(c) = conn.as_mut() else { continue };
                if let Err(e) = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "the background WAL checkpoint failed");
                    conn = None;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no background WAL checkpoints: writers checkpoint as they commit");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use diesel::connection::SimpleConnection;

    use crate::db::{Db, DbConn};

    #[test]
    fn committed_pages_reach_the_database_file_without_a_writer_checkpointing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orgsync.db");
        let db = Db::connect(&format!("sqlite://{}", path.display()), 2).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        {
            let mut conn = db.get().unwrap();
            let DbConn::Sqlite(c) = &mut *conn else {
                panic!("a SQLite pool")
            };
            // About 2000 pages: more than SQLite's own 1000-page threshold, well under ours.
            c.batch_execute(
                "CREATE TABLE filler (v TEXT); \
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000) \
                 INSERT INTO filler SELECT printf('%.900c', 'x') FROM n;",
            )
            .unwrap();
        }
        let committed = std::fs::metadata(&path).unwrap().len();
        assert!(
            committed < before + 1024 * 1024,
            "the writer checkpointed: {before} -> {committed} bytes"
        );
        let mut size = committed;
        for _ in 0..50 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            size = std::fs::metadata(&path).unwrap().len();
            if size > before + 4 * 1024 * 1024 {
                break;
            }
        }
        assert!(
            size > before + 4 * 1024 * 1024,
            "the database file did not grow in 5 s: {before} -> {size} bytes"
        );
    }
}
