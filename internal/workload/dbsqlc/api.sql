-- Queries of the workload API: queues and their usage, job usage sums,
-- priority changes and the P0 policy, deadlines.

-- name: QueuesByIDs :many
SELECT * FROM queue WHERE id = ANY(@ids::bigint[]);

-- QueueTrees returns the queues of clusters, each cluster in path order (a
-- parent before its children).
-- name: QueueTrees :many
SELECT * FROM queue WHERE cluster_id = ANY(@clusters::bigint[]) ORDER BY cluster_id, path;

-- name: QueueChildren :many
SELECT * FROM queue WHERE parent_id = ANY(@parents::bigint[]) ORDER BY parent_id, path;

-- QueueUsageBinned returns the snapshots of a queue in [from, to), averaged over
-- bins of bin_seconds from from_ts (the peaks keep their maximum): a long window
-- comes back as at most (to - from) / bin points.
-- name: QueueUsageBinned :many
SELECT to_timestamp(extract(epoch FROM @from_ts::timestamptz)
           + floor((extract(epoch FROM ts) - extract(epoch FROM @from_ts::timestamptz)) / @bin_seconds::float8) * @bin_seconds::float8)::timestamptz AS bin,
       avg(used_vcores)::float8 AS used_vcores,
       max(used_vcores)::float8 AS max_used_vcores,
       avg(used_memory_bytes)::float8 AS used_memory_bytes,
       avg(pending_apps)::float8 AS pending_apps,
       avg(running_apps)::float8 AS running_apps,
       avg(pending_vcores)::float8 AS pending_vcores,
       avg(pending_memory_bytes)::float8 AS pending_memory_bytes,
       count(*)::integer AS snapshots
FROM queue_usage
WHERE queue_id = @queue_id AND ts >= @from_ts::timestamptz AND ts < @to_ts::timestamptz
GROUP BY 1
ORDER BY 1;

-- QueueUsedCoreSeconds is the core-seconds used in [from, to) by the jobs a
-- queue holds now (job_usage_1h attributed by job.queue_id).
-- name: QueueUsedCoreSeconds :one
SELECT coalesce(sum(u.used_core_seconds), 0)::float8
FROM job j JOIN job_usage_1h u ON u.job_id = j.id AND u.hour >= @from_hour AND u.hour < @to_hour
WHERE j.queue_id = @queue_id;

-- JobsUsedCoreSeconds is the core-seconds of each job used in [from, to).
-- name: JobsUsedCoreSeconds :many
SELECT job_id, coalesce(sum(used_core_seconds), 0)::float8 AS used_core_seconds
FROM job_usage_1h
WHERE job_id = ANY(@job_ids::bigint[]) AND hour >= @from_hour AND hour < @to_hour
GROUP BY job_id;

-- JobForUpdate locks the row of a job for a change, with its effective BU.
-- name: JobForUpdate :one
SELECT j.id, j.namespace, j.name, j.owner_id, j.bu_id, p.bu_id AS owner_bu_id, j.cluster_id, j.queue_id,
       j.kind, j.priority, j.schedule, j.description, j.created_at
FROM job j LEFT JOIN person p ON p.id = j.owner_id
WHERE j.id = @id
FOR UPDATE OF j;

-- name: JobSetPriority :exec
UPDATE job SET priority = @priority, updated_at = now() WHERE id = @id;

-- LockBUPriorities serialises P0 grants within a BU until the transaction
-- ends (lock_key names the BU: workload.p0LockKey): two grants racing for the
-- last P0 slot take turns, and the second counts the first.
-- name: LockBUPriorities :exec
SELECT pg_advisory_xact_lock(@lock_key::bigint);

-- P0JobsOfBU counts the P0 jobs whose effective BU is bu_id (the own BU,
-- else its owner), except one job.
-- name: P0JobsOfBU :one
SELECT count(*) FROM job j LEFT JOIN person p ON p.id = j.owner_id
WHERE j.priority = 'P0' AND coalesce(j.bu_id, p.bu_id) = @bu_id AND j.id <> @except_job;

-- name: PriorityPolicy :many
SELECT bu_id, max_p0_jobs FROM job_priority_policy WHERE bu_id = ANY(@bu_ids::bigint[]);

-- name: PriorityPolicySet :exec
INSERT INTO job_priority_policy (bu_id, max_p0_jobs) VALUES (@bu_id, @max_p0_jobs)
ON CONFLICT (bu_id) DO UPDATE SET max_p0_jobs = EXCLUDED.max_p0_jobs, updated_at = now();

-- name: PriorityPolicyReset :exec
DELETE FROM job_priority_policy WHERE bu_id = @bu_id;

-- RecentNominalTimes returns the nominal times of the newest runs of each job (at
-- most per_job of them), for deadlines.
-- name: RecentNominalTimes :many
SELECT k.job_id::bigint AS job_id, r.nominal_start, r.nominal_end, r.ended_at
FROM unnest(@job_ids::bigint[]) AS k (job_id)
CROSS JOIN LATERAL (
    SELECT nominal_start, nominal_end, ended_at FROM job_run
    WHERE job_run.job_id = k.job_id
    ORDER BY coalesce(started_at, 'infinity'::timestamptz) DESC, id DESC
    LIMIT @per_job
) r;
