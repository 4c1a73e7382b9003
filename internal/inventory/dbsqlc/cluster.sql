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

-- HostStatsByCluster reads the host counts by state, with their capacity, of each
-- cluster from cluster_host_stats, which triggers on host keep current.
-- name: HostStatsByCluster :many
SELECT cluster_id, state, hosts, cpu_cores, memory_bytes, disk_bytes, nic_bps
FROM cluster_host_stats WHERE cluster_id = ANY(@clusters::bigint[]);

-- HostTotals counts every host by state and sums their hardware.
-- name: HostTotals :many
SELECT state, sum(hosts)::bigint AS hosts,
    sum(cpu_cores)::bigint AS cpu_cores, sum(memory_bytes)::bigint AS memory_bytes,
    sum(disk_bytes)::bigint AS disk_bytes, sum(nic_bps)::bigint AS nic_bps
FROM cluster_host_stats GROUP BY state;

-- ClustersByKind counts the clusters and their hosts per cluster kind.
-- name: ClustersByKind :many
SELECT c.kind, count(*) AS clusters, coalesce(sum(s.hosts), 0)::bigint AS hosts
FROM cluster c
LEFT JOIN (SELECT cluster_id, sum(hosts) AS hosts FROM cluster_host_stats GROUP BY cluster_id) s ON s.cluster_id = c.id
GROUP BY c.kind ORDER BY c.kind;

-- HostCountsByCluster counts the hosts of each cluster, of any of states when
-- states is not NULL.
-- name: HostCountsByCluster :many
SELECT cluster_id, sum(hosts)::bigint AS hosts
FROM cluster_host_stats
WHERE cluster_id = ANY(@clusters::bigint[]) AND (sqlc.narg(states)::text[] IS NULL OR state = ANY(sqlc.narg(states)::text[]))
GROUP BY cluster_id;

-- HostCount counts every host, of any of states when states is not NULL.
-- name: HostCount :one
SELECT coalesce(sum(hosts), 0)::bigint AS hosts
FROM cluster_host_stats
WHERE sqlc.narg(states)::text[] IS NULL OR state = ANY(sqlc.narg(states)::text[]);
