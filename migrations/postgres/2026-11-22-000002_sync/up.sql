-- The sync setup of a client org: one connection to a server org through a provider.
-- The password is encrypted with the configured secret key; it is never stored in clear.
CREATE TABLE connections (
    org_id BIGINT PRIMARY KEY REFERENCES orgs(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    url TEXT NOT NULL,
    user_name TEXT NOT NULL,
    password_enc TEXT NOT NULL,
    entities TEXT,
    sync_filters TEXT,
    write_offline BOOLEAN NOT NULL,
    sync_mode TEXT NOT NULL,
    conflict_policy TEXT NOT NULL,
    sync_interval_secs BIGINT,
    state TEXT NOT NULL,
    last_error TEXT,
    last_sync_on BIGINT,
    created_on BIGINT NOT NULL,
    updated_on BIGINT NOT NULL
);

-- One entity of a connection, with its switches, its filter (canonical JSON) and its checkpoint
-- (the server's change token the next download starts from). A full read in progress keeps
-- its own token (full_token) so a crash resumes it; with sweep set, the ids it has seen are kept
-- in link_seen so that, at its end, client records the server lacks can be removed (Mirror).
CREATE TABLE links (
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    inbound BOOLEAN NOT NULL,
    outbound BOOLEAN NOT NULL,
    sync_filter TEXT,
    checkpoint TEXT,
    needs_full BOOLEAN NOT NULL,
    full_running BOOLEAN NOT NULL,
    full_token TEXT,
    sweep BOOLEAN NOT NULL,
    last_sync_on BIGINT,
    PRIMARY KEY (org_id, entity)
);

CREATE TABLE link_seen (
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (org_id, entity, id)
);

-- Background work. A worker claims a job by taking its lease; a job whose lease lapsed (its
-- process died) can be claimed again. run_after holds back retries (exponential backoff).
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    org_name TEXT NOT NULL,
    status TEXT NOT NULL,
    tries INTEGER NOT NULL,
    max_tries INTEGER NOT NULL,
    entered_on BIGINT NOT NULL,
    last_tried_on BIGINT,
    finished_on BIGINT,
    run_after BIGINT NOT NULL,
    added_by TEXT NOT NULL,
    params TEXT NOT NULL,
    progress TEXT NOT NULL,
    summary TEXT NOT NULL,
    error TEXT,
    lease_owner TEXT,
    lease_until BIGINT,
    cancel_requested BOOLEAN NOT NULL
);
CREATE INDEX jobs_runnable ON jobs (status, run_after);
CREATE INDEX jobs_by_org ON jobs (org_name, entered_on);

CREATE TABLE job_log (
    id BIGSERIAL PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    level TEXT NOT NULL,
    entity TEXT,
    record_id TEXT,
    action TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX job_log_by_job ON job_log (job_id, id);
