ALTER TABLE job_log DROP COLUMN record_ids;
