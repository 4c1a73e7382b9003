-- 0036 leaderboards: each rolled-up day's fingerprint of the rows it was
-- rolled up from (internal/leaderboard/sql/fingerprint.sql), so the hourly
-- pass rolls a day up again only when its usage, bill lines or runs changed.
-- NULL: not known (rolled up by an operator's recomputation, or before this
-- migration): the next pass that looks at the day rolls it up.
ALTER TABLE leaderboard_day ADD COLUMN source_fp text;
