-- Follow-up scores (projection): one row per work order that has had its follow-up call.
CREATE TABLE scores (
    wo_id      TEXT PRIMARY KEY REFERENCES work_orders(id),
    score      INTEGER NOT NULL,
    comment    TEXT NOT NULL,
    called_by  TEXT NOT NULL,
    called_at  INTEGER NOT NULL
);
