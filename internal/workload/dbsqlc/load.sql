-- Writers for sources that know a job or a run whole (the demo fleet, importers
-- of traces): every field at once, many rows per statement. The history of a
-- fresh source goes in by COPY (the *Copy queries: they fail on a key already
-- stored), live updates through the upserts.

-- JobsPut creates or updates jobs by natural key with everything a source knows
-- of them: owner, BU, cluster, queue, kind, priority, schedule, description.
-- An id of 0 stands for none (NULL). Keys must be distinct, in key order.
-- name: JobsPut :many
INSERT INTO job AS j (namespace, name, owner_id, bu_id, cluster_id, queue_id, kind, priority, schedule,
                      description, created_at)
SELECT unnest(@namespaces::text[]), unnest(@names::text[]), nullif(unnest(@owner_ids::bigint[]), 0),
       nullif(unnest(@bu_ids::bigint[]), 0), nullif(unnest(@cluster_ids::bigint[]), 0),
       nullif(unnest(@queue_ids::bigint[]), 0),
       unnest(@kinds::text[]), unnest(@priorities::text[]), unnest(@schedules::text[]),
       unnest(@descriptions::text[]), unnest(@created_at::timestamptz[])
ON CONFLICT (namespace, name) DO UPDATE
SET owner_id = EXCLUDED.owner_id, bu_id = EXCLUDED.bu_id, cluster_id = EXCLUDED.cluster_id,
    queue_id = EXCLUDED.queue_id, kind = EXCLUDED.kind, priority = EXCLUDED.priority,
    schedule = EXCLUDED.schedule, description = EXCLUDED.description, updated_at = now()
RETURNING j.id, j.namespace, j.name;

-- name: RunsCopy :copyfrom
INSERT INTO job_run (job_id, run_uuid, state, state_at, queued_at, started_at, ended_at, nominal_start, nominal_end,
                     attempts, requested_core_seconds, used_core_seconds, requested_memory_byte_seconds,
                     used_memory_byte_seconds, peak_memory_bytes, queue_wait_seconds, task_count,
                     task_seconds_min, task_seconds_p50, task_seconds_max)
VALUES (@job_id, @run_uuid, @state, @state_at, @queued_at, @started_at, @ended_at, @nominal_start, @nominal_end,
        @attempts, @requested_core_seconds, @used_core_seconds, @requested_memory_byte_seconds,
        @used_memory_byte_seconds, @peak_memory_bytes, @queue_wait_seconds, @task_count,
        @task_seconds_min, @task_seconds_p50, @task_seconds_max);

-- RunIDsByUUIDs returns the ids of runs by (job, run UUID).
-- name: RunIDsByUUIDs :many
SELECT r.job_id, r.run_uuid, r.id
FROM (SELECT unnest(@job_ids::bigint[]) AS job_id, unnest(@run_uuids::uuid[]) AS run_uuid) k
JOIN job_run r ON r.job_id = k.job_id AND r.run_uuid = k.run_uuid;

-- RunsPut creates or replaces runs whole, by (job, run UUID): the source knows
-- the run's current state and totals, so they replace the stored ones. What is
-- not known yet (a running run's end and totals) is passed as a stand-in that
-- becomes NULL: the epoch for a time, NaN for a total, -1 for a count. Keys
-- must be distinct, in key order.
-- name: RunsPut :many
INSERT INTO job_run AS r (job_id, run_uuid, state, state_at, queued_at, started_at, ended_at, nominal_start,
                          nominal_end, attempts, requested_core_seconds, used_core_seconds,
                          requested_memory_byte_seconds, used_memory_byte_seconds, peak_memory_bytes,
                          queue_wait_seconds, task_count, task_seconds_min, task_seconds_p50, task_seconds_max)
SELECT k.job_id, k.run_uuid, k.state, k.state_at, k.queued_at, nullif(k.started_at, 'epoch'),
       nullif(k.ended_at, 'epoch'), k.nominal_start, k.nominal_end, k.attempts,
       nullif(k.requested_core_seconds, 'NaN'), nullif(k.used_core_seconds, 'NaN'),
       nullif(k.requested_memory_byte_seconds, 'NaN'), nullif(k.used_memory_byte_seconds, 'NaN'),
       nullif(k.peak_memory_bytes, -1), nullif(k.queue_wait_seconds, 'NaN'), nullif(k.task_count, -1),
       nullif(k.task_seconds_min, 'NaN'), nullif(k.task_seconds_p50, 'NaN'), nullif(k.task_seconds_max, 'NaN')
FROM (SELECT unnest(@job_ids::bigint[]) AS job_id, unnest(@run_uuids::uuid[]) AS run_uuid,
             unnest(@states::text[]) AS state, unnest(@state_ats::timestamptz[]) AS state_at,
             unnest(@queued_ats::timestamptz[]) AS queued_at, unnest(@started_ats::timestamptz[]) AS started_at,
             unnest(@ended_ats::timestamptz[]) AS ended_at, unnest(@nominal_starts::timestamptz[]) AS nominal_start,
             unnest(@nominal_ends::timestamptz[]) AS nominal_end, unnest(@attempts::int[]) AS attempts,
             unnest(@requested_core_seconds::float8[]) AS requested_core_seconds,
             unnest(@used_core_seconds::float8[]) AS used_core_seconds,
             unnest(@requested_memory_byte_seconds::float8[]) AS requested_memory_byte_seconds,
             unnest(@used_memory_byte_seconds::float8[]) AS used_memory_byte_seconds,
             unnest(@peak_memory_bytes::bigint[]) AS peak_memory_bytes,
             unnest(@queue_wait_seconds::float8[]) AS queue_wait_seconds, unnest(@task_counts::int[]) AS task_count,
             unnest(@task_seconds_min::float8[]) AS task_seconds_min,
             unnest(@task_seconds_p50::float8[]) AS task_seconds_p50,
             unnest(@task_seconds_max::float8[]) AS task_seconds_max) k
ON CONFLICT (job_id, run_uuid) DO UPDATE
SET state = EXCLUDED.state, state_at = EXCLUDED.state_at, queued_at = EXCLUDED.queued_at,
    started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, nominal_start = EXCLUDED.nominal_start,
    nominal_end = EXCLUDED.nominal_end, attempts = EXCLUDED.attempts,
    requested_core_seconds = EXCLUDED.requested_core_seconds, used_core_seconds = EXCLUDED.used_core_seconds,
    requested_memory_byte_seconds = EXCLUDED.requested_memory_byte_seconds,
    used_memory_byte_seconds = EXCLUDED.used_memory_byte_seconds, peak_memory_bytes = EXCLUDED.peak_memory_bytes,
    queue_wait_seconds = EXCLUDED.queue_wait_seconds, task_count = EXCLUDED.task_count,
    task_seconds_min = EXCLUDED.task_seconds_min, task_seconds_p50 = EXCLUDED.task_seconds_p50,
    task_seconds_max = EXCLUDED.task_seconds_max, updated_at = now()
RETURNING r.job_id, r.run_uuid, r.id;

-- name: QueueUsageCopy :copyfrom
INSERT INTO queue_usage (queue_id, ts, used_vcores, used_memory_bytes, pending_apps, running_apps,
                         pending_vcores, pending_memory_bytes)
VALUES (@queue_id, @ts, @used_vcores, @used_memory_bytes, @pending_apps, @running_apps,
        @pending_vcores, @pending_memory_bytes);

-- name: JobUsageCopy :copyfrom
INSERT INTO job_usage_1h (job_id, hour, runs, requested_core_seconds, used_core_seconds,
                          requested_memory_byte_seconds, used_memory_byte_seconds, peak_memory_bytes)
VALUES (@job_id, @hour, @runs, @requested_core_seconds, @used_core_seconds,
        @requested_memory_byte_seconds, @used_memory_byte_seconds, @peak_memory_bytes);
