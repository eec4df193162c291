-- A feed of token cut-offs for resource servers (the chat service), which verify tokens
-- locally and poll GET /auth/revocations to honour revocations within seconds.
-- kind 'user': access tokens of `subject` (a user id) issued before `not_before` (unix
-- seconds) are void; kind 'session': access tokens of session `subject` are void.
CREATE TABLE revocations (
    id         TEXT PRIMARY KEY,
    at         BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    not_before BIGINT NOT NULL
);
CREATE INDEX revocations_at ON revocations (at);
