-- jobs gathers, into a temporary table dropped at commit, what every job did
-- in the period up to @to — its final days' sums from the period's base when
-- @use_base (see compute.go's base), its days from @rest on from
-- leaderboard_job_day: core-hours
-- used (the volume), the cost-weighted used and requested resources
-- (efficiency's numerator and denominator, each job weighted by its own
-- average bill prices over the period, or the fallback weights when it has no
-- bill lines yet), its bill, its finished and failed runs, its current owner
-- and effective BU, and its job-analysis score.
CREATE TEMP TABLE lb_job ON COMMIT DROP AS
WITH d AS (
    SELECT job_id,
           sum(used_core_h) AS used_core_h, sum(req_core_h) AS req_core_h,
           sum(used_gb_h) AS used_gb_h, sum(req_gb_h) AS req_gb_h,
           sum(cpu_amount) AS cpu_amount, sum(cpu_qty) AS cpu_qty,
           sum(mem_amount) AS mem_amount, sum(mem_qty) AS mem_qty,
           sum(cost) AS cost, sum(cost_volume) AS cost_volume,
           sum(finished) AS finished, sum(failed) AS failed
    FROM (
        -- The period's final days, summed per job once (leaderboard_base)…
        SELECT job_id, used_core_h, req_core_h, used_gb_h, req_gb_h, cpu_amount, cpu_qty,
               mem_amount, mem_qty, cost, cost_volume, finished, failed
        FROM leaderboard_job_base
        WHERE @use_base AND unit = @unit AND start = @start::date
        UNION ALL
        -- …and its days from @rest on, one row per job and day.
        SELECT job_id, used_core_h, req_core_h, used_gb_h, req_gb_h, cpu_amount, cpu_qty,
               mem_amount, mem_qty, cost, CASE WHEN cost IS NOT NULL THEN used_core_h END, finished, failed
        FROM leaderboard_job_day
        WHERE day >= @rest::date AND day < @to::date
    ) x
    GROUP BY job_id
)
SELECT d.job_id, j.owner_id AS person_id, coalesce(j.bu_id, p.bu_id) AS bu_id,
       d.used_core_h AS volume,
       d.used_core_h * w.core + d.used_gb_h * w.gb AS eff_num,
       d.req_core_h * w.core + d.req_gb_h * w.gb AS eff_den,
       d.cost, d.cost_volume, d.finished, d.failed,
       s.score AS findings
FROM d
JOIN job j ON j.id = d.job_id
LEFT JOIN person p ON p.id = j.owner_id
LEFT JOIN job_score s ON s.job_id = d.job_id
CROSS JOIN LATERAL (
    SELECT coalesce(d.cpu_amount / nullif(d.cpu_qty, 0), @core_weight) AS core,
           coalesce(d.mem_amount / nullif(d.mem_qty, 0), @gb_weight) AS gb
) w
