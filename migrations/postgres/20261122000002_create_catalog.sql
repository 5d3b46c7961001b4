-- Regions, skills and the parts catalogue (admin). Users' regions and skills must name these.
CREATE TABLE regions (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE skills (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE parts (
    sku         TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    price_cents BIGINT NOT NULL,
    active      BIGINT NOT NULL DEFAULT 1,
    updated_at  BIGINT NOT NULL
);
