-- standing reads where one subject stands on each metric in the latest
-- computed period of the unit: per metric the period's key read backwards,
-- then the subject's entry by the subject index.
SELECT m.metric, lp.start, coalesce(lp.ranked_count, 0), lp.median,
       e.rank, e.value, e.volume, e.previous_rank
FROM unnest(@metrics::text[]) WITH ORDINALITY m(metric, ord)
LEFT JOIN LATERAL (
    SELECT start, ranked_count, median FROM leaderboard_period
    WHERE level = @level AND metric = m.metric AND unit = @unit
    ORDER BY start DESC
    LIMIT 1
) lp ON true
LEFT JOIN leaderboard_entry e
       ON e.level = @level AND e.unit = @unit AND e.subject_id = @subject AND e.metric = m.metric AND e.start = lp.start
ORDER BY m.ord
