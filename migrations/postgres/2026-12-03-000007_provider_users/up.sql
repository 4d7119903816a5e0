-- The people who run the service (role provider), signing in without an org.
CREATE TABLE provider_users (
    id BIGSERIAL PRIMARY KEY,
    user_name TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_on BIGINT NOT NULL,
    uid TEXT NOT NULL UNIQUE
);
