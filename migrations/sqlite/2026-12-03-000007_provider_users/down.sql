DROP TABLE provider_users;
