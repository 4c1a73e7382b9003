-- period_read reads one computed period of a ranking by its primary key.
SELECT start, period_end, computed_at, ranked_count, median, min_volume
FROM leaderboard_period
WHERE level = @level AND metric = @metric AND unit = @unit AND start = @start::date
