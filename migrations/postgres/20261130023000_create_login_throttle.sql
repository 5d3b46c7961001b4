-- Failed-login counters, one row per account or client address (rule: server/src/auth/throttle.rs).
-- In the database so that the limit holds across instances; a row is deleted once its window
-- has ended (on the next failure anyone records), so the table holds only live windows.
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,   -- 'user:<sha256 of the name as typed>' or 'ip:<address or /64>'
    failures     BIGINT NOT NULL,
    window_start BIGINT NOT NULL,   -- ms since the epoch, the window's first failure
    expires_at   BIGINT NOT NULL    -- window_start + window length
);
CREATE INDEX login_throttle_expires ON login_throttle (expires_at);
