-- Each user's preferences for new conversations (GET/PUT /api/v1/settings), keyed like
-- conversations.owner_id by the token's sub. No row: no preferences.
CREATE TABLE user_settings (
    owner_id              TEXT PRIMARY KEY,
    default_model         TEXT,
    default_system_prompt TEXT,
    updated_at            BIGINT NOT NULL
);
