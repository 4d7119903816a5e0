-- The server's version of a record as the client last received it: the base a client write
-- is made on, sent as IfVersion so a server change in between is seen as a conflict.
ALTER TABLE records ADD COLUMN server_version BIGINT;

-- Client writes on their way to the server, in creation order (seq: the client write's own
-- version). batch_key: the Idempotency-Key of the batch it was last sent in, kept until the
-- outcome is known, so a batch whose answer was lost is sent again as it was.
CREATE TABLE transactions (
    id TEXT PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    attributes TEXT,
    base_version BIGINT NOT NULL,
    status TEXT NOT NULL,
    tries INTEGER NOT NULL,
    error TEXT,
    resolution TEXT,
    batch_key TEXT,
    created_on BIGINT NOT NULL,
    processed_on BIGINT
);
CREATE INDEX transactions_queue ON transactions (org_id, status, seq);
CREATE INDEX transactions_record ON transactions (org_id, entity, record_id, seq);
CREATE INDEX transactions_batch ON transactions (org_id, batch_key);

-- A batch as it was first sent: a batch whose answer was lost is sent again byte for byte
-- under the same key, so the server replays its stored answer instead of applying it twice.
-- members: for each operation, the ids of the transactions it carries.
CREATE TABLE transaction_batches (
    key TEXT PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    members TEXT NOT NULL,
    created_on BIGINT NOT NULL
);

-- A record both sides changed, parked under the Manual policy until Resolve.
CREATE TABLE conflicts (
    id TEXT PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES orgs(id) ON DELETE CASCADE,
    transaction_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    record_id TEXT NOT NULL,
    client_attributes TEXT,
    server_record TEXT,
    status TEXT NOT NULL,
    created_on BIGINT NOT NULL,
    resolved_on BIGINT,
    resolution TEXT
);
CREATE INDEX conflicts_by_org ON conflicts (org_id, status, id);
