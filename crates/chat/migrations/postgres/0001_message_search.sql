-- Message search (GET /api/v1/search) matches words anywhere in a message text with ILIKE; a
-- trigram index (pg_trgm: in PostgreSQL's contrib, a trusted extension since 13, so a database
-- owner may create it) turns that scan into an index lookup. Without the extension (not
-- installed, or no right to create it) search still works, by scanning the user's messages;
-- docs/architecture.md says how to add the index later.
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'pg_trgm is not available (%): message search scans instead of using an index', SQLERRM;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS messages_content_trgm ON messages USING gin (content gin_trgm_ops);
    END IF;
END
$$;
