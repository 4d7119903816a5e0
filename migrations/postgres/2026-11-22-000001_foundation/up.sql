-- Hosted organizations. last_version is the org's change sequence: every write takes the next
-- value under the write lock. purged_version is the tombstone horizon (tokens older get 410).
CREATE TABLE orgs (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    display_name TEXT,
    registration_info TEXT,
    quotas TEXT,
    last_version BIGINT NOT NULL DEFAULT 0,
    purged_version BIGINT NOT NULL DEFAULT 0,
    metadata_version BIGINT NOT NULL DEFAULT 0,
    created_on BIGINT NOT NULL
);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_on BIGINT NOT NULL,
    UNIQUE (org_id, user_name)
);

-- One row per entity; the definition (attributes and their types) is JSON.
CREATE TABLE entities (
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (org_id, name)
);

-- Records keep only their latest state; a deleted one stays as a tombstone until purged.
-- Times are microseconds since the Unix epoch.
CREATE TABLE records (
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_version BIGINT NOT NULL,
    created_on BIGINT NOT NULL,
    modified_on BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    attributes TEXT NOT NULL,
    PRIMARY KEY (org_id, entity, id)
);
CREATE INDEX records_by_version ON records (org_id, version);
CREATE INDEX records_tombstones ON records (org_id, deleted, modified_on);

-- Stored responses of batch requests, by the caller's Idempotency-Key.
CREATE TABLE idempotency_keys (
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_on BIGINT NOT NULL,
    PRIMARY KEY (org_id, key)
);
