DROP TABLE job_log;
DROP TABLE jobs;
DROP TABLE link_seen;
DROP TABLE links;
DROP TABLE connections;
