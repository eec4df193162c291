-- Users' own sign-ins to MCP servers that require one (config.oauth: the MCP authorization
-- spec, OAuth 2.1 with PKCE). Every token, secret and verifier is sealed (chat::tools::secrets).

-- The client the chat service registered with a server's authorization server (RFC 7591), and
-- where that server's endpoints are; registered again when the server's URL or the web UI's
-- addresses change.
CREATE TABLE mcp_oauth_clients (
    server_id              TEXT PRIMARY KEY REFERENCES mcp_servers (id) ON DELETE CASCADE,
    server_url             TEXT NOT NULL,
    issuer                 TEXT NOT NULL,
    authorization_endpoint TEXT NOT NULL,
    token_endpoint         TEXT NOT NULL,
    client_id              TEXT NOT NULL,
    client_secret          TEXT,
    redirect_uris          TEXT NOT NULL,
    scope                  TEXT,
    created_at             BIGINT NOT NULL
);

-- A user's tokens for a server: for the address and from the client they were granted to (a
-- token for an old address is never sent to a new one).
CREATE TABLE mcp_oauth_tokens (
    server_id     TEXT NOT NULL REFERENCES mcp_servers (id) ON DELETE CASCADE,
    user_id       TEXT NOT NULL,
    server_url    TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    access_token  TEXT NOT NULL,
    refresh_token TEXT,
    expires_at    BIGINT,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (user_id, server_id)
);

-- Sign-ins under way, by the SHA-256 of their `state` (the browser may come back to another
-- replica); used once, kept ten minutes at most.
CREATE TABLE mcp_oauth_pending (
    state        TEXT PRIMARY KEY,
    server_id    TEXT NOT NULL REFERENCES mcp_servers (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL,
    client_id    TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX mcp_oauth_pending_created ON mcp_oauth_pending (created_at);
CREATE INDEX mcp_oauth_pending_user ON mcp_oauth_pending (user_id, created_at);
