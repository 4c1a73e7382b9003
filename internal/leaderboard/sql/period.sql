-- period records one metric's rankings of the period at every level: when,
-- how many subjects, their median value and the minimum volume applied.
INSERT INTO leaderboard_period (level, metric, unit, start, period_end, computed_at, ranked_count, median, min_volume)
SELECT l.level, @metric, @unit, @start::date, @end::date, now(), count(e.rank),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY e.value), l.min_volume
FROM (VALUES ('JOB', @min_job::float8), ('PERSON', @min_person::float8), ('BU', @min_bu::float8)) l(level, min_volume)
LEFT JOIN leaderboard_entry e
       ON e.level = l.level AND e.metric = @metric AND e.unit = @unit AND e.start = @start::date
GROUP BY l.level, l.min_volume
