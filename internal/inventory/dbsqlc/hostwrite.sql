-- Writes the platform itself makes (collectors, importers, the demo simulator).
-- sqlc knows unnest of one array only, so arrays are zipped by unnesting each in
-- one select list (they run in lockstep; callers pass arrays of equal length).

-- A heartbeat never moves back: a late or replayed report leaves a newer one alone.
-- name: HostsRecordHeartbeats :execrows
UPDATE host h SET last_heartbeat = v.ts
FROM (
    SELECT u.id, max(u.ts) AS ts
    FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@at::timestamptz[]) AS ts) AS u
    GROUP BY u.id
) AS v
WHERE h.id = v.id AND (h.last_heartbeat IS NULL OR h.last_heartbeat < v.ts);

-- HostTransitionState changes the state only if the host is still in from_state,
-- and announces the change in the same statement.
-- name: HostTransitionState :one
WITH changed AS (
    UPDATE host SET state = @to_state, state_reason = @reason
    WHERE host.id = @id AND host.state = @from_state
    RETURNING host.id
)
SELECT count(pg_notify(@channel::text, changed.id::text)) FROM changed;

-- Worker components fail first, as that is where a host's trouble shows.
-- name: ComponentFailOne :exec
UPDATE host_component SET actual_state = 'FAILED', updated_at = @at
WHERE (host_id, service, component) IN (
    SELECT c.host_id, c.service, c.component FROM host_component c
    WHERE c.host_id = @host_id AND c.actual_state = 'STARTED'
    ORDER BY c.component IN ('DATANODE', 'NODEMANAGER', 'TASKMANAGER', 'REGIONSERVER') DESC, c.service, c.component
    LIMIT 1);

-- name: ComponentsStart :exec
UPDATE host_component SET desired_state = 'STARTED', actual_state = 'STARTED', updated_at = @at
WHERE host_id = @host_id AND desired_state <> 'INSTALLED'
    AND (desired_state <> 'STARTED' OR actual_state <> 'STARTED');

-- name: ClusterEnsure :one
WITH ins AS (
    INSERT INTO cluster (name, region, kind, description)
    VALUES (@name, @region, @kind, @description)
    ON CONFLICT (name) DO NOTHING
    RETURNING cluster.id, cluster.description
)
SELECT ins.id, ins.description FROM ins
UNION ALL
SELECT c.id, c.description FROM cluster c WHERE c.name = @name
LIMIT 1;

-- name: ClusterAppendNote :exec
UPDATE cluster SET description = CASE WHEN description = '' THEN @note::text ELSE description || '; ' || @note::text END
WHERE id = @id;

-- Unchanged hosts are not rewritten, so a re-import is quiet; hosts of another
-- cluster are left alone.
-- name: HostsUpsertForCluster :execrows
INSERT INTO host (cluster_id, hostname, rack, cpu_cores, memory_bytes, disk_bytes, nic_bps, state, state_reason)
SELECT @cluster_id::bigint, t.h, t.r, t.c, t.m, t.d, t.nb, t.s, t.sr
FROM (
    SELECT unnest(@hostnames::text[]) AS h, unnest(@racks::text[]) AS r, unnest(@cores::int[]) AS c,
        unnest(@memory::bigint[]) AS m, unnest(@disk::bigint[]) AS d, unnest(@nic::bigint[]) AS nb,
        unnest(@states::text[]) AS s, unnest(@reasons::text[]) AS sr
) AS t
ON CONFLICT (hostname) DO UPDATE SET
    rack = EXCLUDED.rack, cpu_cores = EXCLUDED.cpu_cores, memory_bytes = EXCLUDED.memory_bytes,
    disk_bytes = EXCLUDED.disk_bytes, nic_bps = EXCLUDED.nic_bps,
    state = EXCLUDED.state, state_reason = EXCLUDED.state_reason
WHERE host.cluster_id = EXCLUDED.cluster_id
    AND (host.rack, host.cpu_cores, host.memory_bytes, host.disk_bytes, host.nic_bps, host.state, host.state_reason)
        IS DISTINCT FROM
        (EXCLUDED.rack, EXCLUDED.cpu_cores, EXCLUDED.memory_bytes, EXCLUDED.disk_bytes, EXCLUDED.nic_bps,
         EXCLUDED.state, EXCLUDED.state_reason);

-- name: HostnamesTakenElsewhere :many
SELECT hostname FROM host WHERE hostname = ANY(@hostnames::text[]) AND cluster_id <> @cluster_id
ORDER BY hostname;
