-- One row can stand for many log entries: the same action, level, entity and message for
-- each of the records whose ids it lists (a JSON array); `record_id` is then NULL.
ALTER TABLE job_log ADD COLUMN record_ids TEXT;
