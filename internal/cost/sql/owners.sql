-- owners records who owns each job that ran in the day's hours [$2, $3), or
-- that wrote datasets stored that day (the jobs $4), as of
-- this first billing of day $1: the owner and the effective BU (the job's own,
-- else its owner's). A day billed again keeps the owners it was billed with,
-- so a job moved to another BU mid-month stays charged to the old BU for the
-- days before the move.
INSERT INTO cost_job_owner_day (day, job_id, person_id, bu_id)
SELECT $1::date, j.id, j.owner_id, coalesce(j.bu_id, p.bu_id)
FROM (SELECT job_id FROM job_usage_1h WHERE hour >= $2 AND hour < $3
      UNION SELECT unnest($4::bigint[])) u
JOIN job j ON j.id = u.job_id
LEFT JOIN person p ON p.id = j.owner_id
ON CONFLICT (day, job_id) DO NOTHING
