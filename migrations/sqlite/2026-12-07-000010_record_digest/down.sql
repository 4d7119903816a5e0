ALTER TABLE records DROP COLUMN digest;
