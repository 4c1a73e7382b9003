-- name: EdgesOfJobs :many
SELECT job_id, dataset_id, direction FROM lineage_edge
WHERE job_id = ANY(@job_ids::bigint[]) AND direction = ANY(@directions::text[])
ORDER BY job_id, direction, dataset_id
LIMIT @max;

-- name: EdgesOfDatasets :many
SELECT job_id, dataset_id, direction FROM lineage_edge
WHERE dataset_id = ANY(@dataset_ids::bigint[]) AND direction = ANY(@directions::text[])
ORDER BY dataset_id, direction, job_id
LIMIT @max;

-- name: DatasetsByIDs :many
SELECT id, namespace, name, facets, created_at, updated_at FROM dataset WHERE id = ANY(@ids::bigint[]);

-- name: DatasetByName :one
SELECT id, namespace, name, facets, created_at, updated_at FROM dataset WHERE namespace = @namespace AND name = @name;

-- DatasetPage is one keyset page of datasets ordered by (namespace, name),
-- served by dataset_natural_key.
-- name: DatasetPage :many
SELECT id, namespace, name, facets, created_at, updated_at FROM dataset
WHERE (sqlc.narg(namespace)::text IS NULL OR namespace = sqlc.narg(namespace))
  AND (sqlc.narg(after_namespace)::text IS NULL
       OR (namespace, name) > (sqlc.narg(after_namespace)::text, sqlc.arg(after_name)::text))
ORDER BY namespace, name
LIMIT @max;

-- name: DatasetCount :one
SELECT count(*) FROM dataset
WHERE sqlc.narg(namespace)::text IS NULL OR namespace = sqlc.narg(namespace);

-- VersionProducer is the latest run that wrote version of a dataset.
-- name: VersionProducer :one
SELECT job_id, run_id, at FROM run_io
WHERE dataset_id = @dataset_id AND direction = 'WRITE' AND version = @version
ORDER BY at DESC
LIMIT 1;

-- name: JobExists :one
SELECT EXISTS (SELECT 1 FROM job WHERE id = @id);

-- name: DatasetExists :one
SELECT EXISTS (SELECT 1 FROM dataset WHERE id = @id);
