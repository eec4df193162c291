-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Times are unix seconds (BIGINT),
-- except audit_events.at, which is unix milliseconds. Flags are 0/1 BIGINTs.

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    username           TEXT NOT NULL UNIQUE,
    email              TEXT NOT NULL UNIQUE,
    full_name          TEXT,
    password_hash      TEXT NOT NULL,
    roles              TEXT NOT NULL,
    is_active          BIGINT NOT NULL DEFAULT 1,
    -- access tokens issued before this instant are refused
    tokens_valid_after BIGINT NOT NULL DEFAULT 0,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- A session is one refresh-token family: it starts at login and ends at logout, on reuse of a
-- rotated token, or at its absolute expiry.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user_id ON sessions (user_id);

-- Refresh tokens are stored as SHA-256 hashes only.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

-- Ed25519 signing keys. The newest unretired key signs; retired keys stay published until
-- every token they signed has expired.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

CREATE TABLE audit_events (
    id       TEXT PRIMARY KEY,
    at       BIGINT NOT NULL,
    event    TEXT NOT NULL,
    username TEXT,
    ip       TEXT,
    detail   TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
