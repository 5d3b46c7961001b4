-- Travel-aware dispatch (issue 12, part 3): where jobs are and where technicians start from.
-- Coordinates are WGS84 degrees, checked on the way in (|lat| <= 90, |lon| <= 180).

-- A job's site, copied from the intake when the work order is created (the intake never
-- changes afterwards). Work orders without coordinates have no row.
CREATE TABLE work_order_sites (
    wo_id TEXT PRIMARY KEY REFERENCES work_orders(id),
    lat   DOUBLE PRECISION NOT NULL,
    lon   DOUBLE PRECISION NOT NULL
);

-- A technician's home base, set by an admin (PATCH /v1/admin/users/{id}).
CREATE TABLE technician_homes (
    technician TEXT PRIMARY KEY REFERENCES users(id),
    lat        DOUBLE PRECISION NOT NULL,
    lon        DOUBLE PRECISION NOT NULL,
    set_at     BIGINT NOT NULL
);

-- A technician's last known position: the latest on-site event with a position, by the
-- event's field time (its device time clamped between the device's previous contact and
-- the upload). Only ever replaced by a later one.
CREATE TABLE technician_positions (
    technician  TEXT PRIMARY KEY,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    reported_at BIGINT NOT NULL,
    wo_id       TEXT NOT NULL,
    event_id    TEXT NOT NULL
);
