-- Bytes of message text stored in each conversation when its messages were appended (the
-- user's own text: replies start empty), for the per-user storage quota (chat.limits.max_bytes).
-- Existing conversations are counted in characters, near enough.
ALTER TABLE conversations ADD COLUMN content_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE conversations SET content_bytes =
    (SELECT COALESCE(SUM(LENGTH(content)), 0) FROM messages WHERE messages.conversation_id = conversations.id);
