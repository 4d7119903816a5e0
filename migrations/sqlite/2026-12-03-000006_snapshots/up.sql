-- Snapshots. A link keeps the filter of its snapshots (snapshot_filter, JSON) and, once its
-- Outbound was switched off and on again after it had synchronized, waits for a Send snapshot
-- (awaiting_send) before its client writes are captured again.
ALTER TABLE links ADD COLUMN snapshot_filter TEXT;
ALTER TABLE links ADD COLUMN awaiting_send BOOLEAN NOT NULL DEFAULT FALSE;

-- A delete staged on the server's side keeps the record as the job read it, for the quarantine.
ALTER TABLE staged_deletes ADD COLUMN prior TEXT;

-- How far a Send snapshot got on each link: the client version it has sent up to, whether the
-- link is done, and the batch it sent whose answer it has not recorded yet (sent again as it
-- was after a crash).
CREATE TABLE snapshot_progress (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    after_version BIGINT NOT NULL,
    done BOOLEAN NOT NULL,
    pending TEXT,
    PRIMARY KEY (job_id, entity)
);
