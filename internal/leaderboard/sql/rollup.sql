-- rollup gathers what every job used, was billed and finished on each day of
-- [@from, @to) into the temporary table lb_roll (compute.go then writes into
-- leaderboard_job_day only the rows that changed), in one pass: usage, bill lines and runs each read once by their period
-- indexes — job_usage_1h by hour, bill_line by day, job_run by updated_at (a
-- run that ended at t was written at t or later, so updated_at >= @from holds
-- every run that ended in the range; there is no upper bound, which is why the
-- days are rolled up together rather than one statement each). A job counts
-- on a day when it used resources or finished a run. Days are UTC.
CREATE TEMP TABLE lb_roll ON COMMIT DROP AS
WITH u AS (
    SELECT (hour AT TIME ZONE 'UTC')::date AS day, job_id,
           sum(used_core_seconds) / 3600 AS used_core_h,
           sum(requested_core_seconds) / 3600 AS req_core_h,
           sum(used_memory_byte_seconds) / 3600 / 1073741824 AS used_gb_h,
           sum(requested_memory_byte_seconds) / 3600 / 1073741824 AS req_gb_h
    FROM job_usage_1h
    WHERE hour >= @from AND hour < @to
    GROUP BY 1, 2
), b AS (
    SELECT day, job_id,
           sum(amount) FILTER (WHERE resource = 'CPU') AS cpu_amount,
           sum(quantity) FILTER (WHERE resource = 'CPU') AS cpu_qty,
           sum(amount) FILTER (WHERE resource = 'MEMORY') AS mem_amount,
           sum(quantity) FILTER (WHERE resource = 'MEMORY') AS mem_qty,
           sum(amount) AS cost
    FROM bill_line
    WHERE day >= @from::date AND day < @to::date AND job_id IS NOT NULL
    GROUP BY 1, 2
), r AS (
    SELECT (ended_at AT TIME ZONE 'UTC')::date AS day, job_id,
           count(*) AS finished, count(*) FILTER (WHERE state IN ('FAILED', 'ABORTED')) AS failed
    FROM job_run
    WHERE updated_at >= @from AND ended_at >= @from AND ended_at < @to
      AND state IN ('COMPLETED', 'FAILED', 'ABORTED')
    GROUP BY 1, 2
)
SELECT coalesce(u.day, r.day) AS day, coalesce(u.job_id, r.job_id) AS job_id,
       coalesce(u.used_core_h, 0) AS used_core_h, coalesce(u.req_core_h, 0) AS req_core_h,
       coalesce(u.used_gb_h, 0) AS used_gb_h, coalesce(u.req_gb_h, 0) AS req_gb_h,
       b.cpu_amount, b.cpu_qty, b.mem_amount, b.mem_qty, b.cost,
       coalesce(r.finished, 0)::integer AS finished, coalesce(r.failed, 0)::integer AS failed
FROM u
FULL JOIN r ON r.day = u.day AND r.job_id = u.job_id
LEFT JOIN b ON b.day = coalesce(u.day, r.day) AND b.job_id = coalesce(u.job_id, r.job_id)
