-- The tools each user asked to approve before every run ("ask me before running this tool"),
-- by server (a user's own or a shared one).
CREATE TABLE mcp_tool_approvals (
    server_id TEXT NOT NULL REFERENCES mcp_servers (id) ON DELETE CASCADE,
    user_id   TEXT NOT NULL,
    tool      TEXT NOT NULL,
    PRIMARY KEY (user_id, server_id, tool)
);
