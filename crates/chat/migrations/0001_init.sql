-- Portable SQL: runs unchanged on SQLite and PostgreSQL. Times are unix milliseconds
-- (BIGINT); flags are 0/1 BIGINTs.

CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    -- the owner's user id (the token's sub): a re-registered username never inherits
    owner_id        TEXT NOT NULL,
    -- the owner's username, shown as the seed's user_id
    user_id         TEXT NOT NULL,
    title           TEXT NOT NULL,
    model           TEXT,
    system_prompt   TEXT,
    pinned          BIGINT NOT NULL DEFAULT 0,
    archived        BIGINT NOT NULL DEFAULT 0,
    message_count   BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_message_at BIGINT
);
CREATE INDEX conversations_owner_updated ON conversations (owner_id, updated_at);

-- Messages are rows, ordered by position, with parent ids so that edits and regenerations
-- form a tree.
CREATE TABLE messages (
    id                TEXT PRIMARY KEY,
    conversation_id   TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    parent_id         TEXT,
    position          BIGINT NOT NULL,
    role              TEXT NOT NULL,
    content           TEXT NOT NULL,
    status            TEXT NOT NULL,
    model             TEXT,
    prompt_tokens     BIGINT,
    completion_tokens BIGINT,
    error             TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    -- while streaming: the instant after which a reply nobody updates counts as interrupted
    lease_until       BIGINT
);
CREATE UNIQUE INDEX messages_conversation_position ON messages (conversation_id, position);
CREATE INDEX messages_status ON messages (status);
