-- The product serial of each work order's KPI facts, normalized (trimmed, upper-case; '' when
-- intake recorded none), for the repeat-fault rate: which work orders share a product.
-- Rows written before this column carry '' until their work order next changes.
ALTER TABLE wo_facts ADD COLUMN serial TEXT NOT NULL DEFAULT '';
CREATE INDEX wo_facts_serial ON wo_facts (serial, created_at);
