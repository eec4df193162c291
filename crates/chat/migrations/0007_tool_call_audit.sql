-- Every tool call, for administrators (GET /api/v1/admin/tool-calls): who called which tool of
-- which server, and how it ended. Rows older than 90 days are removed.
CREATE TABLE tool_call_audit (
    id              TEXT PRIMARY KEY,
    at              BIGINT NOT NULL,
    user_id         TEXT NOT NULL,
    username        TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    server          TEXT NOT NULL,
    tool            TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    duration_ms     BIGINT NOT NULL,
    bytes           BIGINT NOT NULL
);
CREATE INDEX tool_call_audit_at ON tool_call_audit (at);
CREATE INDEX tool_call_audit_user ON tool_call_audit (username, at);
