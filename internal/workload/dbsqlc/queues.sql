-- QueuesUpsert creates or updates the queues of one cluster by path. Paths
-- must be distinct, in order.
-- name: QueuesUpsert :many
INSERT INTO queue AS q (cluster_id, path, name, scheduler_type, guaranteed_vcores, max_vcores,
                        guaranteed_memory, max_memory, weight)
SELECT @cluster_id::bigint, unnest(@paths::text[]), unnest(@names::text[]), unnest(@scheduler_types::text[]),
       unnest(@guaranteed_vcores::float8[]), unnest(@max_vcores::float8[]),
       unnest(@guaranteed_memory::float8[]), unnest(@max_memory::float8[]), unnest(@weights::float8[])
ON CONFLICT (cluster_id, path) DO UPDATE
SET name = EXCLUDED.name, scheduler_type = EXCLUDED.scheduler_type,
    guaranteed_vcores = EXCLUDED.guaranteed_vcores, max_vcores = EXCLUDED.max_vcores,
    guaranteed_memory = EXCLUDED.guaranteed_memory, max_memory = EXCLUDED.max_memory,
    weight = EXCLUDED.weight, updated_at = now()
RETURNING q.id, q.path;

-- QueuesLinkParents points each queue of a cluster at the queue whose path is
-- its own less the last segment ("root.etl.daily" → "root.etl").
-- name: QueuesLinkParents :exec
UPDATE queue c SET parent_id = p.id
FROM queue p
WHERE c.cluster_id = @cluster_id AND p.cluster_id = @cluster_id
  AND strpos(c.path, '.') > 0
  AND p.path = regexp_replace(c.path, '\.[^.]*$', '')
  AND c.parent_id IS DISTINCT FROM p.id;

-- QueueUsageInsert stores snapshots; a snapshot already stored for a queue and
-- time is kept (a poller that reads the same moment twice stores it once).
-- name: QueueUsageInsert :execrows
INSERT INTO queue_usage (queue_id, ts, used_vcores, used_memory_bytes, pending_apps, running_apps,
                         pending_vcores, pending_memory_bytes)
SELECT unnest(@queue_ids::bigint[]), unnest(@ts::timestamptz[]), unnest(@used_vcores::float8[]),
       unnest(@used_memory_bytes::bigint[]), unnest(@pending_apps::int[]), unnest(@running_apps::int[]),
       unnest(@pending_vcores::float8[]), unnest(@pending_memory_bytes::bigint[])
ON CONFLICT (queue_id, ts) DO NOTHING;

-- JobUsageUpsert sets jobs' hourly usage rows to the totals a source computed
-- for those hours (replacing, so recomputing an hour is idempotent). Keys must
-- be distinct, in key order.
-- name: JobUsageUpsert :exec
INSERT INTO job_usage_1h AS u (job_id, hour, runs, requested_core_seconds, used_core_seconds,
                               requested_memory_byte_seconds, used_memory_byte_seconds, peak_memory_bytes)
SELECT unnest(@job_ids::bigint[]), unnest(@hours::timestamptz[]), unnest(@runs::int[]),
       unnest(@requested_core_seconds::float8[]), unnest(@used_core_seconds::float8[]),
       unnest(@requested_memory_byte_seconds::float8[]), unnest(@used_memory_byte_seconds::float8[]),
       unnest(@peak_memory_bytes::bigint[])
ON CONFLICT (job_id, hour) DO UPDATE
SET runs = EXCLUDED.runs, requested_core_seconds = EXCLUDED.requested_core_seconds,
    used_core_seconds = EXCLUDED.used_core_seconds,
    requested_memory_byte_seconds = EXCLUDED.requested_memory_byte_seconds,
    used_memory_byte_seconds = EXCLUDED.used_memory_byte_seconds,
    peak_memory_bytes = EXCLUDED.peak_memory_bytes;

-- name: JobUsageRange :many
SELECT * FROM job_usage_1h
WHERE job_id = @job_id AND hour >= @from_hour AND hour < @to_hour
ORDER BY hour;
