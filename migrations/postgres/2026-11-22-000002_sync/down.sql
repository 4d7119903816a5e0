DROP TABLE job_log;
DROP TABLE jobs;
DROP TABLE links;
DROP TABLE connections;
