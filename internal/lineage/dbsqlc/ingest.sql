-- The statements of one OpenLineage event, run in one transaction by
-- lineage.Store.Apply.

-- EventClaim records a run event's idempotency key; no row back means the event
-- was applied before.
-- name: EventClaim :one
INSERT INTO lineage_event (run_uuid, event_type, event_time, job_id, problems)
VALUES (@run_uuid, @event_type, @event_time, @job_id, @problems::text[])
ON CONFLICT (run_uuid, event_type, event_time) DO NOTHING
RETURNING run_uuid;

-- DatasetsUpsert creates the datasets not seen before and merges non-empty
-- facets into the others; it returns every dataset's id. Callers sort the keys
-- so that concurrent events lock rows in one order.
-- name: DatasetsUpsert :many
INSERT INTO dataset AS d (namespace, name, facets)
SELECT unnest(@namespaces::text[]), unnest(@names::text[]), unnest(@facets::text[])::jsonb
ON CONFLICT (namespace, name) DO UPDATE
SET facets = d.facets || EXCLUDED.facets,
    updated_at = CASE WHEN EXCLUDED.facets = '{}' THEN d.updated_at ELSE now() END
RETURNING d.id, d.namespace, d.name;

-- EdgesUpsert records that a job reads or writes datasets.
-- name: EdgesUpsert :exec
INSERT INTO lineage_edge AS e (job_id, dataset_id, direction, first_seen, last_seen)
SELECT @job_id::bigint, unnest(@dataset_ids::bigint[]), unnest(@directions::text[]), @at::timestamptz, @at::timestamptz
ON CONFLICT (job_id, direction, dataset_id) DO UPDATE
SET first_seen = least(e.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(e.last_seen, EXCLUDED.last_seen)
WHERE EXCLUDED.first_seen < e.first_seen OR EXCLUDED.last_seen > e.last_seen;

-- RunIOUpsert records what one run read and wrote; a known version is kept when
-- a later event of the run does not repeat it.
-- name: RunIOUpsert :exec
INSERT INTO run_io AS r (job_id, run_id, dataset_id, direction, version, at)
SELECT @job_id::bigint, @run_id::bigint, unnest(@dataset_ids::bigint[]), unnest(@directions::text[]),
       unnest(@versions::text[]), @at::timestamptz
ON CONFLICT (job_id, run_id, dataset_id, direction) DO UPDATE
SET version = CASE WHEN EXCLUDED.version <> '' THEN EXCLUDED.version ELSE r.version END,
    at = greatest(r.at, EXCLUDED.at);
