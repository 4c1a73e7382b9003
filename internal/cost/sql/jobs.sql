-- jobs returns, per job that ran on a cluster in the hours [$2, $3) of day
-- $1, its owner of the day and what it is charged: the sum over its hours of
-- max(requested, used) core-hours and memory GB-hours (GB = 2^30 bytes). Each
-- hour's quantity is rounded to 9 decimals exactly as clusters.sql rounds it,
-- so a cluster's charged total is the exact sum of its jobs'.
SELECT u.job_id, j.cluster_id, o.person_id, o.bu_id,
       sum(round(greatest(u.requested_core_seconds, u.used_core_seconds)::numeric / 3600, 9)) AS core_hours,
       sum(round(greatest(u.requested_memory_byte_seconds, u.used_memory_byte_seconds)::numeric / 3865470566400, 9)) AS gb_hours
FROM job_usage_1h u
JOIN job j ON j.id = u.job_id
LEFT JOIN cost_job_owner_day o ON o.day = $1::date AND o.job_id = u.job_id
WHERE u.hour >= $2 AND u.hour < $3 AND j.cluster_id IS NOT NULL
GROUP BY u.job_id, j.cluster_id, o.person_id, o.bu_id
