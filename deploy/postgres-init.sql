-- The chat service's database beside the auth server's (POSTGRES_DB): their migration histories
-- are separate, so they never share one database.
CREATE DATABASE chat OWNER openchat;
