DROP TABLE snapshot_progress;
ALTER TABLE staged_deletes DROP COLUMN prior;
ALTER TABLE links DROP COLUMN awaiting_send;
ALTER TABLE links DROP COLUMN snapshot_filter;
