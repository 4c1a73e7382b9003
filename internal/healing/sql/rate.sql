-- Per UTC day since $1: attempts ended HEALED, FAILED, and hosts HANDED_OVER,
-- of cluster $2 (0: all).
SELECT (coalesce(ended_at, started_at) AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE state = 'HEALED')::int,
       count(*) FILTER (WHERE state = 'FAILED')::int,
       count(*) FILTER (WHERE state = 'HANDED_OVER')::int
FROM healing_attempt
WHERE started_at >= $1 AND state <> 'HEALING' AND ($2::bigint = 0 OR cluster_id = $2)
GROUP BY 1 ORDER BY 1
