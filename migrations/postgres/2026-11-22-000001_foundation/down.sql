DROP TABLE idempotency_keys;
DROP TABLE records;
DROP TABLE entities;
DROP TABLE users;
DROP TABLE orgs;
