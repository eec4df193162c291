-- Message search (GET /api/v1/search) matches words anywhere in a message text. A trigram
-- index finds the candidate messages; the query then checks each with LIKE, so the index only
-- has to be a superset: contentless (the text is not stored twice) and without positions
-- (detail=none), about the size of the text itself. Kept in step by triggers; rowids are the
-- messages' own.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = '',
    contentless_delete = 1,
    detail = 'none',
    tokenize = 'trigram'
);

INSERT INTO messages_fts (rowid, content) SELECT rowid, content FROM messages;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;

-- A streaming reply's text is saved twice a second; only a real change re-indexes it.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
WHEN old.content IS NOT new.content BEGIN
    DELETE FROM messages_fts WHERE rowid = old.rowid;
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.rowid;
END;
