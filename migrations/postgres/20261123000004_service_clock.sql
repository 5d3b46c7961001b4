-- Dispatch, the service clock and KPIs (issue 4). Times are ms since the Unix epoch.

-- What dispatch and the board read without loading documents.
ALTER TABLE work_orders ADD COLUMN tier TEXT NOT NULL DEFAULT 'standard';
ALTER TABLE work_orders ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';          -- JSON array
ALTER TABLE work_orders ADD COLUMN refused_by TEXT NOT NULL DEFAULT '[]';      -- JSON array: declined or timed out
ALTER TABLE work_orders ADD COLUMN appointment_start BIGINT;
ALTER TABLE work_orders ADD COLUMN appointment_end BIGINT;

-- When each event happened in the field: its device time clamped between the device's
-- previous contact and the server's receipt (DESIGN.md principle 10).
CREATE TABLE event_times (
    wo_id       TEXT NOT NULL REFERENCES documents(id),
    event_id    TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    device_at   BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    field_at    BIGINT NOT NULL,
    PRIMARY KEY (wo_id, event_id)
);

-- Every device that has synced: its last contact and whether its clock looks wrong.
CREATE TABLE devices (
    device_id       TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    last_contact_at BIGINT NOT NULL,
    clock_skew_ms   BIGINT NOT NULL DEFAULT 0,  -- the largest offset seen: + ahead, - behind
    flagged_at      BIGINT,
    flag_reason     TEXT
);

-- Service clocks of every work order, derived from its events; the clock task records each
-- breach once (breached_at), and clears it when field times later show it was met in time.
CREATE TABLE clocks (
    wo_id       TEXT NOT NULL REFERENCES work_orders(id),
    rule        TEXT NOT NULL,
    anchor      TEXT NOT NULL,
    region      TEXT NOT NULL,
    technician  TEXT,
    started_at  BIGINT NOT NULL,
    due_at      BIGINT NOT NULL,
    not_before  BIGINT,
    stopped_at  BIGINT,
    stopped_by  TEXT,
    stop        TEXT,
    breached_at BIGINT,
    cleared_at  BIGINT,
    PRIMARY KEY (wo_id, rule, anchor)
);
CREATE INDEX clocks_due ON clocks (due_at);

-- Escalations to a manager, each with its own deadline.
CREATE TABLE escalations (
    id          TEXT PRIMARY KEY,
    wo_id       TEXT NOT NULL REFERENCES work_orders(id),
    kind        TEXT NOT NULL,
    anchor      TEXT NOT NULL,
    region      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    opened_at   BIGINT NOT NULL,
    due_at      BIGINT NOT NULL,
    resolved_at BIGINT,
    resolved_by TEXT,
    resolution  TEXT
);
CREATE INDEX escalations_wo ON escalations (wo_id);

-- Every dispatch decision with its explanation (candidates and why).
CREATE TABLE dispatch_log (
    id          TEXT PRIMARY KEY,
    wo_id       TEXT NOT NULL REFERENCES work_orders(id),
    decided_at  BIGINT NOT NULL,
    cause       TEXT NOT NULL,  -- intake, batch, decline, timeout
    technician  TEXT,
    escalated   BIGINT NOT NULL,
    explanation TEXT NOT NULL
);
CREATE INDEX dispatch_log_wo ON dispatch_log (wo_id, decided_at);

-- KPI facts of every work order (projection).
CREATE TABLE wo_facts (
    wo_id             TEXT PRIMARY KEY REFERENCES work_orders(id),
    facts             TEXT NOT NULL,          -- JSON of kpi::Facts
    region            TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    completed_at      BIGINT,
    followed_up_at    BIGINT
);
CREATE INDEX wo_facts_created ON wo_facts (created_at);

-- One row that every dispatch decision locks first, so that instances never overfill a technician.
INSERT INTO server_settings (key, value) VALUES ('dispatch_lock', '0');
