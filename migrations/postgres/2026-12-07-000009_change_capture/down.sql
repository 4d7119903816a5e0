ALTER TABLE connections DROP COLUMN change_capture;
