-- The statements that store a batch of OpenLineage events, run in one
-- transaction by lineage.Store.ApplyBatch. Each takes whole arrays (one row per
-- element, unnested in step), so a batch costs a few statements, not a few per
-- event. Callers pass distinct keys in key order, so that concurrent batches
-- lock rows in one order and no statement touches a row twice.

-- EventsClaim records run events' idempotency keys and returns those that were
-- new: an event whose key is not returned was applied before.
-- name: EventsClaim :many
INSERT INTO lineage_event (run_uuid, event_type, event_time, job_id, problems)
SELECT unnest(@run_uuids::uuid[]), unnest(@event_types::text[]), unnest(@event_times::timestamptz[]),
       unnest(@job_ids::bigint[]), unnest(@problems::text[])::jsonb
ON CONFLICT (run_uuid, event_type, event_time) DO NOTHING
RETURNING run_uuid, event_type, event_time;

-- DatasetsUpsert creates the datasets not seen before and merges non-empty
-- facets into the others; it returns every dataset's id.
-- name: DatasetsUpsert :many
INSERT INTO dataset AS d (namespace, name, facets)
SELECT unnest(@namespaces::text[]), unnest(@names::text[]), unnest(@facets::text[])::jsonb
ON CONFLICT (namespace, name) DO UPDATE
SET facets = d.facets || EXCLUDED.facets,
    updated_at = CASE WHEN EXCLUDED.facets = '{}' THEN d.updated_at ELSE now() END
RETURNING d.id, d.namespace, d.name;

-- EdgesUpsert records that jobs read or write datasets, widening the edges'
-- first and last sightings.
-- name: EdgesUpsert :exec
INSERT INTO lineage_edge AS e (job_id, dataset_id, direction, first_seen, last_seen)
SELECT unnest(@job_ids::bigint[]), unnest(@dataset_ids::bigint[]), unnest(@directions::text[]),
       unnest(@first_seen::timestamptz[]), unnest(@last_seen::timestamptz[])
ON CONFLICT (job_id, direction, dataset_id) DO UPDATE
SET first_seen = least(e.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(e.last_seen, EXCLUDED.last_seen)
WHERE EXCLUDED.first_seen < e.first_seen OR EXCLUDED.last_seen > e.last_seen;

-- RunIOUpsert records what runs read and wrote; a known version, size or row
-- count is kept when a later event of the run does not repeat it. Sizes and
-- row counts are -1 when not reported (arrays of bigint hold no NULL here).
-- name: RunIOUpsert :exec
INSERT INTO run_io AS r (job_id, run_id, dataset_id, direction, version, at, size_bytes, row_count)
SELECT unnest(@job_ids::bigint[]), unnest(@run_ids::bigint[]), unnest(@dataset_ids::bigint[]),
       unnest(@directions::text[]), unnest(@versions::text[]), unnest(@ats::timestamptz[]),
       nullif(unnest(@sizes::bigint[]), -1), nullif(unnest(@row_counts::bigint[]), -1)
ON CONFLICT (job_id, run_id, dataset_id, direction) DO UPDATE
SET version = CASE WHEN EXCLUDED.version <> '' THEN EXCLUDED.version ELSE r.version END,
    at = greatest(r.at, EXCLUDED.at),
    size_bytes = coalesce(EXCLUDED.size_bytes, r.size_bytes),
    row_count = coalesce(EXCLUDED.row_count, r.row_count);

-- DatasetSizesRefresh sets the current size of datasets (distinct, in id
-- order) to what their latest sized write reported, with the job and run
-- that wrote it; a dataset never written with a size keeps no row.
-- name: DatasetSizesRefresh :exec
INSERT INTO dataset_size AS d (dataset_id, job_id, run_id, size_bytes, row_count, at)
SELECT w.dataset_id, w.job_id, w.run_id, w.size_bytes, w.row_count, w.at
FROM unnest(@dataset_ids::bigint[]) AS k(id)
CROSS JOIN LATERAL (
    SELECT r.dataset_id, r.job_id, r.run_id, r.size_bytes, r.row_count, r.at FROM run_io r
    WHERE r.dataset_id = k.id AND r.direction = 'WRITE' AND r.size_bytes IS NOT NULL
    ORDER BY r.at DESC, r.run_id DESC
    LIMIT 1) w
ON CONFLICT (dataset_id) DO UPDATE
SET job_id = EXCLUDED.job_id, run_id = EXCLUDED.run_id, size_bytes = EXCLUDED.size_bytes,
    row_count = EXCLUDED.row_count, at = EXCLUDED.at
WHERE (d.job_id, d.run_id, d.size_bytes, d.row_count, d.at)
      IS DISTINCT FROM (EXCLUDED.job_id, EXCLUDED.run_id, EXCLUDED.size_bytes, EXCLUDED.row_count, EXCLUDED.at);

-- RunIOCopy records the inputs and outputs of runs that have none recorded
-- yet (a source's history); a key already stored fails the COPY.
-- name: RunIOCopy :copyfrom
INSERT INTO run_io (job_id, run_id, dataset_id, direction, version, at, size_bytes, row_count)
VALUES (@job_id, @run_id, @dataset_id, @direction, @version, @at, @size_bytes, @row_count);
