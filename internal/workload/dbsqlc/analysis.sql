-- Queries of the job and queue analysis (analysis*.go).

-- name: AnalysisState :one
SELECT done_until, pending_until, after_job FROM job_analysis_state;

-- AnalysisStateBegin starts a pass over the runs changed up to pending_until.
-- name: AnalysisStateBegin :exec
UPDATE job_analysis_state SET pending_until = @pending_until, after_job = 0;

-- AnalysisStateProgress records the last job of a committed batch.
-- name: AnalysisStateProgress :exec
UPDATE job_analysis_state SET after_job = @after_job;

-- AnalysisStateDone ends a pass: everything up to pending_until is analysed.
-- name: AnalysisStateDone :exec
UPDATE job_analysis_state SET done_until = pending_until, pending_until = NULL, after_job = 0;

-- ChangedJobs lists, by id after after_job, the jobs with a finished run
-- changed in (from_ts, to_ts], and the streaming jobs with an hour of usage in
-- [from_hour, to_hour): streaming jobs never finish a run, so they are
-- analysed once per new complete hour.
-- name: ChangedJobs :many
SELECT job_id FROM (
    SELECT DISTINCT r.job_id FROM job_run r
    WHERE r.updated_at > @from_ts AND r.updated_at <= @to_ts
      AND r.state IN ('COMPLETED', 'FAILED', 'ABORTED') AND r.job_id > @after_job
    UNION
    SELECT DISTINCT u.job_id FROM job_usage_1h u JOIN job j ON j.id = u.job_id AND j.kind = 'STREAMING'
    WHERE u.hour >= @from_hour AND u.hour < @to_hour AND u.job_id > @after_job
) c
ORDER BY job_id
LIMIT @max;

-- WindowRuns returns the newest max finished runs of each job, through
-- job_run_job_started_idx.
-- name: WindowRuns :many
SELECT r.job_id, r.id, r.state, r.started_at, r.ended_at, r.attempts,
       r.requested_core_seconds, r.used_core_seconds,
       r.requested_memory_byte_seconds, r.used_memory_byte_seconds, r.peak_memory_bytes,
       r.queue_wait_seconds, r.task_count, r.task_seconds_p50, r.task_seconds_max
FROM unnest(@job_ids::bigint[]) AS k (job_id)
CROSS JOIN LATERAL (
    SELECT * FROM job_run
    WHERE job_run.job_id = k.job_id AND job_run.state IN ('COMPLETED', 'FAILED', 'ABORTED')
    ORDER BY started_at DESC NULLS FIRST, id DESC
    LIMIT @max
) r;

-- WindowHours returns the hourly usage of jobs from from_hour on.
-- name: WindowHours :many
SELECT job_id, hour, runs, requested_core_seconds, used_core_seconds,
       requested_memory_byte_seconds, used_memory_byte_seconds, peak_memory_bytes
FROM job_usage_1h
WHERE job_id = ANY(@job_ids::bigint[]) AND hour >= @from_hour
ORDER BY job_id, hour;

-- name: FindingsDelete :exec
DELETE FROM job_finding WHERE job_id = ANY(@job_ids::bigint[]);

-- FindingsInsert stores findings after FindingsDelete. A pass and an
-- on-demand analysis of the same job may interleave (each deletes, then
-- inserts): the later one's findings win instead of a key violation.
-- name: FindingsInsert :exec
INSERT INTO job_finding AS f (job_id, heuristic, severity, evidence, advice, analyzed_at)
SELECT unnest(@job_ids::bigint[]), unnest(@heuristics::text[]), unnest(@severities::smallint[]),
       unnest(@evidence::jsonb[]), unnest(@advice::text[]), @analyzed_at
ON CONFLICT (job_id, heuristic) DO UPDATE
SET severity = EXCLUDED.severity, evidence = EXCLUDED.evidence, advice = EXCLUDED.advice, analyzed_at = EXCLUDED.analyzed_at;

-- name: ScoresDelete :exec
DELETE FROM job_score WHERE job_id = ANY(@job_ids::bigint[]);

-- ScoresInsert stores scores after ScoresDelete (conflicts: as FindingsInsert).
-- name: ScoresInsert :exec
INSERT INTO job_score (job_id, score, wasted_core_hours_per_day, wasted_gb_hours_per_day, waste,
                       worst_severity, runs_analyzed, hours_analyzed, analyzed_at)
SELECT unnest(@job_ids::bigint[]), unnest(@scores::float8[]), unnest(@core_hours::float8[]),
       unnest(@gb_hours::float8[]), unnest(@waste::float8[]), unnest(@worst::smallint[]),
       unnest(@runs::int[]), unnest(@hours::int[]), @analyzed_at
ON CONFLICT (job_id) DO UPDATE
SET score = EXCLUDED.score, wasted_core_hours_per_day = EXCLUDED.wasted_core_hours_per_day,
    wasted_gb_hours_per_day = EXCLUDED.wasted_gb_hours_per_day, waste = EXCLUDED.waste,
    worst_severity = EXCLUDED.worst_severity, runs_analyzed = EXCLUDED.runs_analyzed,
    hours_analyzed = EXCLUDED.hours_analyzed, analyzed_at = EXCLUDED.analyzed_at;

-- name: FindingsOfJobs :many
SELECT * FROM job_finding WHERE job_id = ANY(@job_ids::bigint[])
ORDER BY job_id, severity DESC, heuristic;

-- name: ScoresOfJobs :many
SELECT * FROM job_score WHERE job_id = ANY(@job_ids::bigint[]);

-- WorstByScore is a keyset page of scored jobs by score, highest first,
-- through job_score_score_idx; the caller's scope and the filters are applied
-- as the index is walked. see_all is set for operators; bus holds a BU
-- admin's subtree (empty for others), person the caller.
-- name: WorstByScore :many
SELECT s.*, s.score::text AS key0, s.job_id::text AS key1
FROM job_score s JOIN job j ON j.id = s.job_id LEFT JOIN person p ON p.id = j.owner_id
WHERE (sqlc.narg(after_key)::float8 IS NULL OR (s.score, s.job_id) < (sqlc.narg(after_key)::float8, sqlc.arg(after_job)::bigint))
  AND (@see_all::bool OR j.owner_id = @person OR coalesce(j.bu_id, p.bu_id) = ANY(@bus::bigint[]))
  AND (NOT @filter_bu::bool OR coalesce(j.bu_id, p.bu_id) = ANY(@bu_scope::bigint[]))
  AND (sqlc.narg(cluster)::bigint IS NULL OR j.cluster_id = sqlc.narg(cluster))
ORDER BY s.score DESC, s.job_id DESC
LIMIT @max;

-- WorstByWaste is WorstByScore by waste, through job_score_waste_idx.
-- name: WorstByWaste :many
SELECT s.*, s.waste::text AS key0, s.job_id::text AS key1
FROM job_score s JOIN job j ON j.id = s.job_id LEFT JOIN person p ON p.id = j.owner_id
WHERE (sqlc.narg(after_key)::float8 IS NULL OR (s.waste, s.job_id) < (sqlc.narg(after_key)::float8, sqlc.arg(after_job)::bigint))
  AND (@see_all::bool OR j.owner_id = @person OR coalesce(j.bu_id, p.bu_id) = ANY(@bus::bigint[]))
  AND (NOT @filter_bu::bool OR coalesce(j.bu_id, p.bu_id) = ANY(@bu_scope::bigint[]))
  AND (sqlc.narg(cluster)::bigint IS NULL OR j.cluster_id = sqlc.narg(cluster))
ORDER BY s.waste DESC, s.job_id DESC
LIMIT @max;

-- name: QueueByID :one
SELECT * FROM queue WHERE id = @id;

-- ClusterCapacity is the vcores and memory of a cluster's hosts in service,
-- what queue shares are fractions of.
-- name: ClusterCapacity :one
SELECT coalesce(sum(cpu_cores), 0)::float8 AS vcores, coalesce(sum(memory_bytes), 0)::float8 AS memory_bytes
FROM cluster_host_stats WHERE cluster_id = @cluster_id AND state IN ('ONLINE', 'DEGRADED');

-- QueueSamples returns a queue's snapshots in [from_ts, to_ts).
-- name: QueueSamples :many
SELECT ts, used_vcores, used_memory_bytes, pending_apps, running_apps
FROM queue_usage WHERE queue_id = @queue_id AND ts >= @from_ts AND ts < @to_ts
ORDER BY ts;

-- QueueJobUsage sums the used core-seconds of each job of a queue in
-- [from_hour, to_hour), largest first.
-- name: QueueJobUsage :many
SELECT j.id, j.namespace, j.name, sum(u.used_core_seconds)::float8 AS used_core_seconds
FROM job j JOIN job_usage_1h u ON u.job_id = j.id
WHERE j.queue_id = @queue_id AND u.hour >= @from_hour AND u.hour < @to_hour
GROUP BY j.id
ORDER BY 4 DESC, j.id;
