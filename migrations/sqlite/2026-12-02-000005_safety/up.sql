-- Data safety. A connection may name the attributes that adopt existing client records on a
-- link's first sync (match_on, JSON by entity) and the delete guard of its jobs (delete_guard,
-- JSON; null: the default). A job the guard held runs again with deletes_approved once approved.
ALTER TABLE connections ADD COLUMN match_on TEXT;
ALTER TABLE connections ADD COLUMN delete_guard TEXT;
ALTER TABLE jobs ADD COLUMN deletes_approved BOOLEAN NOT NULL DEFAULT FALSE;

-- Deletes a job plans, staged with the batch that found them (so a crash loses none) and
-- applied at the end of the link's pass once the delete guard has counted them all.
CREATE TABLE staged_deletes (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    server_version BIGINT,
    reason TEXT,
    PRIMARY KEY (job_id, entity, record_id)
);

-- What a job deleted (or overwrote), with the prior state, on the side where it happened,
-- until UndoDeletes restores it (restored_on) or the retention purges it.
CREATE TABLE quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    side TEXT NOT NULL,
    action TEXT NOT NULL,
    attributes TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_on BIGINT NOT NULL,
    restored_on BIGINT
);
CREATE UNIQUE INDEX quarantine_once ON quarantine (job_id, side, entity, record_id);
CREATE INDEX quarantine_by_record ON quarantine (org_id, entity, record_id);
