-- clusters returns, per cluster that ran in the hours [$1, $2), its capacity
-- over those hours and what its jobs were charged. A cluster ran in an hour
-- when watermark_1h has its CPU or MEMORY level (hosts reported), or when a
-- job used it (then, without a level, its hosts' inventory capacity stands in).
-- Capacity per hour is at least what the jobs were charged that hour, so idle
-- capacity is never negative: an over-committed hour costs what was charged.
WITH charged AS (
    SELECT j.cluster_id, u.hour,
           sum(round(greatest(u.requested_core_seconds, u.used_core_seconds)::numeric / 3600, 9)) AS core_hours,
           sum(round(greatest(u.requested_memory_byte_seconds, u.used_memory_byte_seconds)::numeric / 3865470566400, 9)) AS gb_hours
    FROM job_usage_1h u
    JOIN job j ON j.id = u.job_id
    WHERE u.hour >= $1 AND u.hour < $2 AND j.cluster_id IS NOT NULL
    GROUP BY 1, 2
), cap AS (
    SELECT cluster_id, ts AS hour,
           max(capacity) FILTER (WHERE dimension = 'CPU') AS cores,
           max(capacity) FILTER (WHERE dimension = 'MEMORY') AS mem_bytes
    FROM watermark_1h
    WHERE ts >= $1 AND ts < $2 AND cluster_id <> 0 AND dimension IN ('CPU', 'MEMORY') AND hosts > 0
    GROUP BY 1, 2
), inv AS (
    SELECT cluster_id, sum(cpu_cores) AS cores, sum(memory_bytes) AS mem_bytes
    FROM host
    WHERE state <> 'DECOMMISSIONED'
    GROUP BY 1
), hours AS (
    SELECT coalesce(c.cluster_id, ch.cluster_id) AS cluster_id,
           c.cores, c.mem_bytes, c.hour IS NOT NULL AS measured,
           coalesce(ch.core_hours, 0) AS core_hours, coalesce(ch.gb_hours, 0) AS gb_hours
    FROM cap c
    FULL JOIN charged ch ON ch.cluster_id = c.cluster_id AND ch.hour = c.hour
)
SELECT h.cluster_id, count(*)::int AS hours,
       sum(greatest(round((CASE WHEN h.measured THEN coalesce(h.cores, 0) ELSE coalesce(i.cores, 0) END)::numeric, 9),
                    h.core_hours)) AS capacity_core_hours,
       sum(greatest(round((CASE WHEN h.measured THEN coalesce(h.mem_bytes, 0) ELSE coalesce(i.mem_bytes, 0) END)::numeric / 1073741824, 9),
                    h.gb_hours)) AS capacity_gb_hours,
       sum(h.core_hours) AS charged_core_hours,
       sum(h.gb_hours) AS charged_gb_hours
FROM hours h
LEFT JOIN inv i ON i.cluster_id = h.cluster_id
GROUP BY h.cluster_id
