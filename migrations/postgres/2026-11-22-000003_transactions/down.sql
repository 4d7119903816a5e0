DROP TABLE conflicts;
DROP TABLE transaction_batches;
DROP TABLE transactions;
ALTER TABLE records DROP COLUMN server_version;
