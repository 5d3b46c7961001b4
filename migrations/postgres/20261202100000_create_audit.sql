-- The quality audit (issue 12, part 2; server/src/audit): a daily random sample of the work
-- orders completed that day, each given to an auditor of its region, with findings and the
-- verification of their corrective actions. A failed finding's corrective action runs on the
-- service clock as a `clocks` row of rule QA-CORRECTIVE (anchor: the finding id), so the clock
-- pass records its breach like any other.

-- One draw per (UTC) day, made once: the seed and rate reproduce it from the candidates.
CREATE TABLE audit_draws (
    day             TEXT PRIMARY KEY,          -- YYYY-MM-DD, UTC
    day_start       BIGINT NOT NULL,          -- ms since the epoch of 00:00 UTC that day
    seed            BIGINT NOT NULL,          -- 0 <= seed < 2^53
    rate            DOUBLE PRECISION NOT NULL,             -- the policy's audit.sample_rate at the draw
    candidate_count BIGINT NOT NULL,
    drawn_at        BIGINT NOT NULL,
    drawn_by        TEXT NOT NULL              -- 'system' (the clock) or the admin who asked
);

-- Per region of a draw: every candidate (JSON array of work-order ids, sorted) and how many
-- were chosen (the chosen ones are the day's audits).
CREATE TABLE audit_draw_regions (
    day        TEXT NOT NULL REFERENCES audit_draws(day),
    region     TEXT NOT NULL,
    candidates TEXT NOT NULL,
    chosen     BIGINT NOT NULL,
    PRIMARY KEY (day, region)
);

CREATE TABLE audits (
    id          TEXT PRIMARY KEY,              -- aud-<hash of day and work order>
    day         TEXT NOT NULL REFERENCES audit_draws(day),
    day_start   BIGINT NOT NULL,
    wo_id       TEXT NOT NULL REFERENCES work_orders(id),
    region      TEXT NOT NULL,
    state       TEXT NOT NULL,                 -- unassigned | open | closed
    auditor     TEXT,
    assigned_at BIGINT,
    drawn_at    BIGINT NOT NULL,
    closed_at   BIGINT,
    closed_by   TEXT,
    version     BIGINT NOT NULL DEFAULT 0     -- bumped by every write: the row lock that serializes them
);
CREATE INDEX audits_day ON audits (day_start, region);
CREATE INDEX audits_auditor ON audits (auditor, state);
CREATE INDEX audits_state ON audits (state);

-- Findings are only inserted; the verification columns are written once (verified_at IS NULL).
CREATE TABLE audit_findings (
    id                TEXT PRIMARY KEY,
    audit_id          TEXT NOT NULL REFERENCES audits(id),
    seq               BIGINT NOT NULL,
    standard          TEXT NOT NULL,
    result            TEXT NOT NULL,           -- pass | fail
    problem           TEXT,
    responsible_team  TEXT,
    corrective_action TEXT,
    deadline_at       BIGINT,
    note              TEXT NOT NULL DEFAULT '',
    recorded_by       TEXT NOT NULL,
    recorded_at       BIGINT NOT NULL,
    verified_by       TEXT,
    verified_at       BIGINT,
    verification_note TEXT,
    UNIQUE (audit_id, seq)
);

-- Who did what to an audit and when; rows are never updated or deleted.
CREATE TABLE audit_history (
    id       BIGSERIAL PRIMARY KEY,
    audit_id TEXT NOT NULL REFERENCES audits(id),
    at       BIGINT NOT NULL,
    by_user  TEXT NOT NULL,
    action   TEXT NOT NULL,                    -- drawn | assigned | finding | verified | closed
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_history_audit ON audit_history (audit_id, id);

-- The draw reads the work orders completed in a day.
CREATE INDEX wo_facts_completed ON wo_facts (completed_at);
