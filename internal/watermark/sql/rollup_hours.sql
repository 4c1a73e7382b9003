-- rollup_hours re-derives the hourly levels of the hours in $3 (all within [$1, $2))
-- from watermark_1m, for every cluster: means of used, capacity and utilisation
-- over the minutes present, the peak minute utilisation, the maxima of p95, max
-- and hosts, and the number of minutes. Hours left without any minute of a
-- cluster lose that cluster's row, but only when the hour still has minutes at
-- all, so an hour whose minutes retention expired keeps its row. It returns the
-- days (UTC) whose rows must be re-derived.
WITH res AS (
    SELECT cluster_id, dimension, date_trunc('hour', ts) AS ts,
           avg(used) AS used, avg(capacity) AS capacity,
           avg(CASE WHEN capacity > 0 THEN used / capacity ELSE 0 END) AS utilization,
           max(CASE WHEN capacity > 0 THEN used / capacity ELSE 0 END) AS peak,
           max(p95) AS p95, max(max) AS max, max(hosts) AS hosts, count(*)::integer AS minutes
    FROM watermark_1m
    WHERE ts >= $1 AND ts < $2 AND date_trunc('hour', ts) = ANY ($3::timestamptz[])
    GROUP BY 1, 2, 3
), up AS (
    INSERT INTO watermark_1h AS w (cluster_id, ts, used, capacity, utilization, peak, p95, max, hosts, minutes, dimension)
    SELECT cluster_id, ts, used, capacity, utilization, peak, p95, max, hosts, minutes, dimension FROM res
    ON CONFLICT (cluster_id, dimension, ts) DO UPDATE
        SET used = EXCLUDED.used, capacity = EXCLUDED.capacity, utilization = EXCLUDED.utilization,
            peak = EXCLUDED.peak, p95 = EXCLUDED.p95, max = EXCLUDED.max, hosts = EXCLUDED.hosts,
            minutes = EXCLUDED.minutes
        WHERE (w.used, w.capacity, w.utilization, w.peak, w.p95, w.max, w.hosts, w.minutes)
              IS DISTINCT FROM (EXCLUDED.used, EXCLUDED.capacity, EXCLUDED.utilization, EXCLUDED.peak,
                                EXCLUDED.p95, EXCLUDED.max, EXCLUDED.hosts, EXCLUDED.minutes)
    RETURNING w.ts
), gone AS (
    DELETE FROM watermark_1h w
    WHERE w.ts >= $1 AND w.ts < $2 AND w.ts = ANY ($3::timestamptz[])
      AND w.ts IN (SELECT ts FROM res)
      AND NOT EXISTS (SELECT 1 FROM res r
                      WHERE r.cluster_id = w.cluster_id AND r.dimension = w.dimension AND r.ts = w.ts)
    RETURNING w.ts
)
SELECT count(*), coalesce(array_agg(DISTINCT date_trunc('day', c.ts)), '{}')
FROM (SELECT ts FROM up UNION ALL SELECT ts FROM gone) c
