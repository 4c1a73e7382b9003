-- name: ClustersByIDs :many
SELECT * FROM cluster WHERE id = ANY(@ids::bigint[]);

-- name: ClusterByName :one
SELECT * FROM cluster WHERE name = @name;

-- name: ClustersByOwnerBU :many
SELECT * FROM cluster WHERE owner_bu_id = ANY(@bus::bigint[]) ORDER BY name;

-- name: ClustersByStackVersion :many
SELECT * FROM cluster WHERE stack_version_id = ANY(@versions::bigint[]) ORDER BY name;

-- name: ClustersAll :many
SELECT * FROM cluster ORDER BY name;

-- HostStatsByCluster counts hosts by state, with their capacity, per cluster.
-- name: HostStatsByCluster :many
SELECT cluster_id, state, count(*) AS hosts,
    sum(cpu_cores)::bigint AS cpu_cores, sum(memory_bytes)::bigint AS memory_bytes,
    sum(disk_bytes)::bigint AS disk_bytes, sum(nic_bps)::bigint AS nic_bps
FROM host WHERE cluster_id = ANY(@clusters::bigint[])
GROUP BY cluster_id, state;
