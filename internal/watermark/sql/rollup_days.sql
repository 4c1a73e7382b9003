-- rollup_days re-derives the daily levels of the days in $3 (all within [$1, $2))
-- from watermark_1h, weighting each hour by its minutes so a sparse hour counts
-- for what it holds. hours says how complete the day is: the forecast fits only
-- days with most of their hours. Same deletion rule as rollup_hours.
WITH res AS (
    SELECT cluster_id, dimension, date_trunc('day', ts) AS ts,
           sum(used * minutes) / sum(minutes) AS used,
           sum(capacity * minutes) / sum(minutes) AS capacity,
           sum(utilization * minutes) / sum(minutes) AS utilization,
           max(peak) AS peak, max(p95) AS p95, max(max) AS max, max(hosts) AS hosts,
           sum(minutes)::integer AS minutes, count(*)::integer AS hours
    FROM watermark_1h
    WHERE ts >= $1 AND ts < $2 AND date_trunc('day', ts) = ANY ($3::timestamptz[])
    GROUP BY 1, 2, 3
), up AS (
    INSERT INTO watermark_1d AS w (cluster_id, ts, used, capacity, utilization, peak, p95, max, hosts, minutes, hours, dimension)
    SELECT cluster_id, ts, used, capacity, utilization, peak, p95, max, hosts, minutes, hours, dimension FROM res
    ON CONFLICT (cluster_id, dimension, ts) DO UPDATE
        SET used = EXCLUDED.used, capacity = EXCLUDED.capacity, utilization = EXCLUDED.utilization,
            peak = EXCLUDED.peak, p95 = EXCLUDED.p95, max = EXCLUDED.max, hosts = EXCLUDED.hosts,
            minutes = EXCLUDED.minutes, hours = EXCLUDED.hours
        WHERE (w.used, w.capacity, w.utilization, w.peak, w.p95, w.max, w.hosts, w.minutes, w.hours)
              IS DISTINCT FROM (EXCLUDED.used, EXCLUDED.capacity, EXCLUDED.utilization, EXCLUDED.peak,
                                EXCLUDED.p95, EXCLUDED.max, EXCLUDED.hosts, EXCLUDED.minutes, EXCLUDED.hours)
    RETURNING w.ts
), gone AS (
    DELETE FROM watermark_1d w
    WHERE w.ts >= $1 AND w.ts < $2 AND w.ts = ANY ($3::timestamptz[])
      AND w.ts IN (SELECT ts FROM res)
      AND NOT EXISTS (SELECT 1 FROM res r
                      WHERE r.cluster_id = w.cluster_id AND r.dimension = w.dimension AND r.ts = w.ts)
    RETURNING w.ts
)
SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM gone)
