-- Each user's use of each model, per day (UTC): a row per (day, user, model, provider), added
-- to as each reply ends, so analytics and budgets read a few rows per user and day instead of
-- every message.
CREATE TABLE usage_daily (
    day               BIGINT NOT NULL,
    user_id           TEXT NOT NULL,
    model             TEXT NOT NULL,
    provider          TEXT NOT NULL,
    replies           BIGINT NOT NULL,
    failed            BIGINT NOT NULL,
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    duration_ms       BIGINT NOT NULL,
    first_tokens      BIGINT NOT NULL,
    first_token_ms    BIGINT NOT NULL,
    PRIMARY KEY (day, user_id, model, provider)
);
CREATE INDEX usage_daily_user ON usage_daily (user_id, day);
