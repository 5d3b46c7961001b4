-- The `postgres` blob store's tables exist only on PostgreSQL (it refuses a SQLite
-- database); see migrations/postgres/ for them.

-- Resumable uploads (server/src/blobs/resumable.rs), on every store: the bytes received so
-- far are parts in the blob store, this row says how many, so any instance can go on.
CREATE TABLE blob_uploads (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    uploader   TEXT NOT NULL,
    length     INTEGER NOT NULL,
    received   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX blob_uploads_by_updated ON blob_uploads (updated_at);
