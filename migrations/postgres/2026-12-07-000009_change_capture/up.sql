-- The admin's consent (InstallChangeCapture) to create the sql provider's change log and
-- triggers in the external database.
ALTER TABLE connections ADD COLUMN change_capture BOOLEAN NOT NULL DEFAULT FALSE;
