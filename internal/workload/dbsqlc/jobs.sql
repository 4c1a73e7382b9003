-- JobsInsert creates the jobs of natural keys not seen before, with the owner
-- and BU their namespace maps to (job_namespace_owner); kinds[i] '' means BATCH.
-- Keys must be distinct, in key order.
-- name: JobsInsert :exec
INSERT INTO job (namespace, name, owner_id, bu_id, kind, description)
SELECT k.namespace, k.name, m.owner_id, m.bu_id, coalesce(nullif(k.kind, ''), 'BATCH'), k.description
FROM (SELECT unnest(@namespaces::text[]) AS namespace, unnest(@names::text[]) AS name,
             unnest(@kinds::text[]) AS kind, unnest(@descriptions::text[]) AS description) k
LEFT JOIN job_namespace_owner m ON m.namespace = k.namespace
ON CONFLICT (namespace, name) DO NOTHING;

-- JobIDsByNames returns the ids of the jobs of natural keys.
-- name: JobIDsByNames :many
SELECT j.id, j.namespace, j.name
FROM (SELECT unnest(@namespaces::text[]) AS namespace, unnest(@names::text[]) AS name) k
JOIN job j ON j.namespace = k.namespace AND j.name = k.name;

-- JobsDescribe sets the kind and description a source reported, where given
-- ('' = not given) and different.
-- name: JobsDescribe :exec
UPDATE job j
SET kind = coalesce(nullif(k.kind, ''), j.kind),
    description = coalesce(nullif(k.description, ''), j.description),
    updated_at = now()
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@kinds::text[]) AS kind, unnest(@descriptions::text[]) AS description) k
WHERE j.id = k.id
  AND (coalesce(nullif(k.kind, ''), j.kind) <> j.kind OR coalesce(nullif(k.description, ''), j.description) <> j.description);

-- JobsByIDs returns jobs with their effective BU (the job's own, else its
-- owner's).
-- name: JobsByIDs :many
SELECT j.id, j.namespace, j.name, j.owner_id, j.bu_id, p.bu_id AS owner_bu_id, j.cluster_id, j.queue_id,
       j.kind, j.priority, j.schedule, j.description, j.created_at
FROM job j LEFT JOIN person p ON p.id = j.owner_id
WHERE j.id = ANY(@ids::bigint[]);

-- RunUpsert applies one run event to a run, whatever order events come in: a
-- terminal state (COMPLETED, FAILED, ABORTED) is replaced only by a later
-- terminal event, never by START or RUNNING; an OTHER event sets no state
-- (state NULL) except on a run it creates. started_at is the earliest start
-- seen, ended_at the time of the terminal state kept.
-- name: RunUpsert :batchone
INSERT INTO job_run AS r (job_id, run_uuid, state, state_at, started_at, ended_at,
                          nominal_start, nominal_end, parent_run_uuid)
VALUES (@job_id, @run_uuid, coalesce(sqlc.narg(state)::text, 'OTHER'), @event_time,
        sqlc.narg(started_at), sqlc.narg(ended_at),
        sqlc.narg(nominal_start), sqlc.narg(nominal_end), sqlc.narg(parent_run_uuid))
ON CONFLICT (job_id, run_uuid) DO UPDATE
SET state = CASE WHEN (sqlc.narg(state)::text IS NOT NULL AND (r.state = 'OTHER' OR (sqlc.narg(state)::text <> 'RUNNING' AND r.state = 'RUNNING') OR ((sqlc.narg(state)::text = 'RUNNING') = (r.state = 'RUNNING') AND EXCLUDED.state_at >= r.state_at)))
                 THEN EXCLUDED.state ELSE r.state END,
    ended_at = CASE WHEN (sqlc.narg(state)::text IS NOT NULL AND (r.state = 'OTHER' OR (sqlc.narg(state)::text <> 'RUNNING' AND r.state = 'RUNNING') OR ((sqlc.narg(state)::text = 'RUNNING') = (r.state = 'RUNNING') AND EXCLUDED.state_at >= r.state_at)))
                    THEN EXCLUDED.ended_at ELSE r.ended_at END,
    state_at = CASE WHEN (sqlc.narg(state)::text IS NOT NULL AND (r.state = 'OTHER' OR (sqlc.narg(state)::text <> 'RUNNING' AND r.state = 'RUNNING') OR ((sqlc.narg(state)::text = 'RUNNING') = (r.state = 'RUNNING') AND EXCLUDED.state_at >= r.state_at)))
                    THEN EXCLUDED.state_at ELSE r.state_at END,
    started_at = least(r.started_at, EXCLUDED.started_at),
    nominal_start = coalesce(EXCLUDED.nominal_start, r.nominal_start),
    nominal_end = coalesce(EXCLUDED.nominal_end, r.nominal_end),
    parent_run_uuid = coalesce(EXCLUDED.parent_run_uuid, r.parent_run_uuid),
    updated_at = now()
RETURNING r.id;

-- RunsOfJobs returns the newest runs of each job, at most max per job.
-- name: RunsOfJobs :many
SELECT r.* FROM unnest(@job_ids::bigint[]) AS k (job_id)
CROSS JOIN LATERAL (
    SELECT * FROM job_run
    WHERE job_run.job_id = k.job_id
    ORDER BY started_at DESC NULLS FIRST, id DESC
    LIMIT @max
) r;

-- name: RunsByIDs :many
SELECT * FROM job_run WHERE id = ANY(@ids::bigint[]);
