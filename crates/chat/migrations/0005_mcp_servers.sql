-- MCP servers whose tools the model may call: a user's own (scope 'user', owner_id set) or an
-- administrator's for everyone ('global') or for one role ('role', role set). The secret is
-- sealed (AES-256-GCM, see chat::tools::secrets); config is JSON text.
CREATE TABLE mcp_servers (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT,
    scope       TEXT NOT NULL,
    role        TEXT,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    server_url  TEXT NOT NULL,
    is_active   BIGINT NOT NULL DEFAULT 1,
    config      TEXT NOT NULL,
    secret      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX mcp_servers_owner ON mcp_servers (owner_id, created_at);
CREATE INDEX mcp_servers_scope ON mcp_servers (scope, created_at);


-- Which MCP servers a conversation's replies may use: NULL, every active one its owner may
-- use; else a JSON array of server ids (empty: none).
ALTER TABLE conversations ADD COLUMN mcp_servers TEXT;

-- The tools a reply called (JSON: api_types::chat::ToolCall list), stored with it.
ALTER TABLE messages ADD COLUMN tool_calls TEXT;
