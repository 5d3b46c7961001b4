-- Spare-part stock (issue 12): locations, an append-only ledger of moves, counts and low-stock
-- thresholds. Every quantity is derived from stock_moves (server/src/stock/ledger.rs); nothing
-- here stores a level. Rows of stock_moves and stock_counts are never updated or deleted.

-- Warehouses, and one van per technician (id `van:<technician>`, created on demand).
CREATE TABLE stock_locations (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,          -- 'warehouse' | 'van'
    name       TEXT NOT NULL,
    technician TEXT,                   -- vans: whose van
    version    INTEGER NOT NULL DEFAULT 0, -- bumped by every checked move: the row lock that serializes them
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX stock_locations_technician ON stock_locations (technician);

-- The ledger. A move takes qty of sku out of from_loc (NULL: from outside, e.g. a supplier)
-- and into to_loc (NULL: out of stock, e.g. fitted at a customer's). A level is the sum of
-- what came in minus what went out.
CREATE TABLE stock_moves (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,   -- receipt | transfer | return | consumption | consumption_reversal | count_adjustment
    sku         TEXT NOT NULL,
    qty         INTEGER NOT NULL, -- always > 0; the direction is from_loc -> to_loc
    from_loc    TEXT REFERENCES stock_locations(id),
    to_loc      TEXT REFERENCES stock_locations(id),
    serial      TEXT NOT NULL DEFAULT '',  -- the new part's serial, when known
    serial_old  TEXT NOT NULL DEFAULT '',  -- consumption: the removed part's serial
    disposition TEXT,                      -- return: 'repair' | 'scrap'
    wo_id       TEXT,                      -- consumption (and its reversal), return
    line        TEXT,                      -- consumption: the work order's part-line id
    technician  TEXT,
    device      TEXT,
    short       INTEGER NOT NULL DEFAULT 0, -- consumption: how much the van lacked (flagged for reconciliation)
    note        TEXT NOT NULL DEFAULT '',
    by_user     TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX stock_moves_from ON stock_moves (from_loc, sku);
CREATE INDEX stock_moves_to ON stock_moves (to_loc, sku);
CREATE INDEX stock_moves_line ON stock_moves (wo_id, line);
CREATE INDEX stock_moves_serial ON stock_moves (sku, serial);

-- Counts: what was counted against what the ledger expected, by whom and when. The variance
-- is also posted as a count_adjustment move (linked by move_id) so levels match the count.
CREATE TABLE stock_counts (
    id         INTEGER PRIMARY KEY,
    count_id   TEXT NOT NULL,   -- one count of a location may cover several SKUs
    location   TEXT NOT NULL REFERENCES stock_locations(id),
    sku        TEXT NOT NULL,
    expected   INTEGER NOT NULL,
    counted    INTEGER NOT NULL,
    variance   INTEGER NOT NULL,
    move_id    INTEGER,
    note       TEXT NOT NULL DEFAULT '',
    by_user    TEXT NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX stock_counts_location ON stock_counts (location, at);

-- Low-stock thresholds per location: below min_qty, reorder up to reorder_to.
CREATE TABLE stock_thresholds (
    location   TEXT NOT NULL REFERENCES stock_locations(id),
    sku        TEXT NOT NULL,
    min_qty    INTEGER NOT NULL,
    reorder_to INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (location, sku)
);
