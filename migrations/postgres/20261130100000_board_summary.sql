-- What the board shows of a work order's clocks, kept on its row so that a board of 10,000
-- work orders is one scan of work_orders: the soonest running clock (rule, start, due) and
-- the breaches recorded and not withdrawn. Rewritten with the clock rows (clock/store.rs
-- summarize) and when the clock pass records a breach.
ALTER TABLE work_orders ADD COLUMN next_rule TEXT;
ALTER TABLE work_orders ADD COLUMN next_started_at BIGINT;
ALTER TABLE work_orders ADD COLUMN next_due_at BIGINT;
ALTER TABLE work_orders ADD COLUMN breaches BIGINT NOT NULL DEFAULT 0;

UPDATE work_orders SET
  next_rule = (SELECT c.rule FROM clocks c WHERE c.wo_id = work_orders.id AND c.stopped_at IS NULL
               ORDER BY c.due_at, c.rule LIMIT 1),
  next_started_at = (SELECT c.started_at FROM clocks c WHERE c.wo_id = work_orders.id AND c.stopped_at IS NULL
                     ORDER BY c.due_at, c.rule LIMIT 1),
  next_due_at = (SELECT c.due_at FROM clocks c WHERE c.wo_id = work_orders.id AND c.stopped_at IS NULL
                 ORDER BY c.due_at, c.rule LIMIT 1),
  breaches = (SELECT COUNT(*) FROM clocks c WHERE c.wo_id = work_orders.id
              AND c.breached_at IS NOT NULL AND c.cleared_at IS NULL);
