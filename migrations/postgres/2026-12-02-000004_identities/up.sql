-- Immutable ids of orgs and users, carried by tokens: a token of a deleted org or user, or of
-- a re-created namesake, no longer matches.
ALTER TABLE orgs ADD COLUMN uid TEXT NOT NULL DEFAULT '';
UPDATE orgs SET uid = md5(random()::text || id::text);
ALTER TABLE users ADD COLUMN uid TEXT NOT NULL DEFAULT '';
UPDATE users SET uid = md5(random()::text || id::text);
CREATE UNIQUE INDEX users_uid ON users (uid);
