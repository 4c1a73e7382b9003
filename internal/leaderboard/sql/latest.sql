-- latest reads the newest computed period of a ranking: the primary key read
-- backwards, one row.
SELECT start, period_end, computed_at, ranked_count, median, min_volume
FROM leaderboard_period
WHERE level = @level AND metric = @metric AND unit = @unit
ORDER BY start DESC
LIMIT 1
