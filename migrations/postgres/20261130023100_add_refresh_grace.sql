-- The refresh token a family rotated away last and when: presented again within a short grace
-- window while its successor is still unused, it means the refresh response was lost on the way
-- to the device, not that the token was stolen (rule: server/src/auth/refresh/decide.rs).
-- NULL once the successor is used or the grace was spent.
ALTER TABLE refresh_families ADD COLUMN previous_hash TEXT;
ALTER TABLE refresh_families ADD COLUMN rotated_at BIGINT;    -- ms since the epoch
