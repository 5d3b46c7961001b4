-- The `postgres` blob store (server/src/blobs/store/postgres.rs): an object is one
-- blob_objects row plus its chunks (1 MiB each), written in one transaction.
CREATE TABLE blob_objects (
    key        TEXT PRIMARY KEY,
    size       BIGINT NOT NULL,
    chunk_size BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE blob_chunks (
    key  TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (key, seq)
);

-- Resumable uploads (server/src/blobs/resumable.rs), on every store: the bytes received so
-- far are parts in the blob store, this row says how many, so any instance can go on.
CREATE TABLE blob_uploads (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL,
    uploader   TEXT NOT NULL,
    length     BIGINT NOT NULL,
    received   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX blob_uploads_by_updated ON blob_uploads (updated_at);
