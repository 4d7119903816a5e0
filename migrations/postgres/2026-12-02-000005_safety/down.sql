DROP TABLE quarantine;
DROP TABLE staged_deletes;
ALTER TABLE jobs DROP COLUMN deletes_approved;
ALTER TABLE connections DROP COLUMN delete_guard;
ALTER TABLE connections DROP COLUMN match_on;
