-- jobs gathers, into a temporary table dropped at commit, what every job that
-- used resources in the period [@from, @to) did: core-hours used (the volume),
-- the cost-weighted used and requested resources (efficiency's numerator and
-- denominator, each job weighted by its own average bill prices, or the
-- fallback weights when it has no bill lines yet), its bill (usage and idle
-- share lines), its finished and failed runs, and its job-analysis score.
-- Usage, bill lines and runs are each read once, by their period indexes:
-- job_usage_1h by hour, bill_line by day, job_run by updated_at (a run that
-- ended at t was written at t or later, so updated_at >= @from holds every run
-- that ended in the period).
CREATE TEMP TABLE lb_job ON COMMIT DROP AS
WITH u AS (
    SELECT job_id,
           sum(used_core_seconds) / 3600 AS used_core_h,
           sum(requested_core_seconds) / 3600 AS req_core_h,
           sum(used_memory_byte_seconds) / 3600 / 1073741824 AS used_gb_h,
           sum(requested_memory_byte_seconds) / 3600 / 1073741824 AS req_gb_h
    FROM job_usage_1h
    WHERE hour >= @from AND hour < @to
    GROUP BY job_id
), b AS (
    SELECT job_id,
           sum(amount::float8) FILTER (WHERE resource = 'CPU') AS cpu_amount,
           sum(quantity::float8) FILTER (WHERE resource = 'CPU') AS cpu_qty,
           sum(amount::float8) FILTER (WHERE resource = 'MEMORY') AS mem_amount,
           sum(quantity::float8) FILTER (WHERE resource = 'MEMORY') AS mem_qty,
           sum(amount::float8) AS cost
    FROM bill_line
    WHERE day >= @from::date AND day < @to::date AND job_id IS NOT NULL
    GROUP BY job_id
), r AS (
    SELECT job_id, count(*) AS finished, count(*) FILTER (WHERE state IN ('FAILED', 'ABORTED')) AS failed
    FROM job_run
    WHERE updated_at >= @from AND ended_at >= @from AND ended_at < @to
      AND state IN ('COMPLETED', 'FAILED', 'ABORTED')
    GROUP BY job_id
)
SELECT u.job_id, j.owner_id AS person_id, coalesce(j.bu_id, p.bu_id) AS bu_id,
       u.used_core_h AS volume,
       u.used_core_h * w.core + u.used_gb_h * w.gb AS eff_num,
       u.req_core_h * w.core + u.req_gb_h * w.gb AS eff_den,
       b.cost,
       CASE WHEN b.cost IS NOT NULL THEN u.used_core_h END AS cost_volume,
       coalesce(r.finished, 0) AS finished,
       coalesce(r.failed, 0) AS failed,
       s.score AS findings
FROM u
JOIN job j ON j.id = u.job_id
LEFT JOIN person p ON p.id = j.owner_id
LEFT JOIN b ON b.job_id = u.job_id
LEFT JOIN r ON r.job_id = u.job_id
LEFT JOIN job_score s ON s.job_id = u.job_id
CROSS JOIN LATERAL (
    SELECT coalesce(b.cpu_amount / nullif(b.cpu_qty, 0), @core_weight) AS core,
           coalesce(b.mem_amount / nullif(b.mem_qty, 0), @gb_weight) AS gb
) w
