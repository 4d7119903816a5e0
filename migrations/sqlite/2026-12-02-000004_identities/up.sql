-- Immutable ids of orgs and users, carried by tokens: a token of a deleted org or user, or of
-- a re-created namesake, no longer matches.
ALTER TABLE orgs ADD COLUMN uid TEXT NOT NULL DEFAULT '';
UPDATE orgs SET uid = lower(hex(randomblob(16)));
ALTER TABLE users ADD COLUMN uid TEXT NOT NULL DEFAULT '';
UPDATE users SET uid = lower(hex(randomblob(16)));
CREATE UNIQUE INDEX users_uid ON users (uid);
