-- fieldsync schema (PostgreSQL). Times are milliseconds since the Unix epoch.
-- Flags are BIGINT 0/1 so the same queries run on SQLite.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    regions       TEXT NOT NULL DEFAULT '[]',  -- JSON array
    skills        TEXT NOT NULL DEFAULT '[]',  -- JSON array
    capacity      BIGINT NOT NULL DEFAULT 0,
    active        BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL
);

-- Rotating refresh tokens: one family per login on a device; only hashes are stored.
CREATE TABLE refresh_families (
    family_id    TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    device_id    TEXT NOT NULL,
    current_hash TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked      BIGINT NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL
);
CREATE TABLE refresh_spent (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES refresh_families(family_id)
);

-- Work-order documents: a compacted snapshot plus an append-only log of changes keyed by hash.
CREATE TABLE documents (
    id          TEXT PRIMARY KEY,
    snapshot    BYTEA NOT NULL,
    heads       TEXT NOT NULL,        -- sorted hex change hashes, comma-separated
    log_count   BIGINT NOT NULL DEFAULT 0,
    version     BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);
CREATE TABLE doc_changes (
    doc_id      TEXT NOT NULL REFERENCES documents(id),
    hash        TEXT NOT NULL,
    change      BYTEA NOT NULL,
    uploader    TEXT NOT NULL,         -- the authenticated user who sent it
    device_id   TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (doc_id, hash)
);

-- Per (device, document) Automerge sync state, and what each device holds.
CREATE TABLE sync_states (
    device_id TEXT NOT NULL,
    doc_id    TEXT NOT NULL REFERENCES documents(id),
    state     BYTEA NOT NULL,
    PRIMARY KEY (device_id, doc_id)
);

-- Projections, rebuilt from the documents after every merge, in the same transaction.
CREATE TABLE work_orders (
    id            TEXT PRIMARY KEY REFERENCES documents(id),
    region        TEXT NOT NULL,
    status        TEXT NOT NULL,
    assignee      TEXT,
    priority      TEXT NOT NULL,
    service_type  TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    open_conflicts BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX work_orders_region_status ON work_orders (region, status);
CREATE INDEX work_orders_assignee ON work_orders (assignee);

CREATE TABLE part_lines (
    wo_id       TEXT NOT NULL REFERENCES work_orders(id),
    line        TEXT NOT NULL,
    sku         TEXT NOT NULL,
    qty         BIGINT NOT NULL,
    price_cents BIGINT NOT NULL,
    removed     BIGINT NOT NULL,
    technician  TEXT NOT NULL,
    PRIMARY KEY (wo_id, line)
);

CREATE TABLE photos (
    wo_id   TEXT NOT NULL REFERENCES work_orders(id),
    photo   TEXT NOT NULL,
    blob    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    removed BIGINT NOT NULL,
    PRIMARY KEY (wo_id, photo)
);
CREATE INDEX photos_blob ON photos (blob);

-- Blobs referenced by a work order's intake attachments or signature.
CREATE TABLE doc_blobs (
    wo_id TEXT NOT NULL REFERENCES work_orders(id),
    blob  TEXT NOT NULL,
    PRIMARY KEY (wo_id, blob)
);
CREATE INDEX doc_blobs_blob ON doc_blobs (blob);

CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    mime       TEXT NOT NULL,
    width      BIGINT NOT NULL,
    height     BIGINT NOT NULL,
    size       BIGINT NOT NULL,
    uploader   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Server-wide settings kept in the database so every instance shares them (e.g. the JWT key).
CREATE TABLE server_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
