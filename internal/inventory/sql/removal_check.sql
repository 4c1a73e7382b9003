-- What taking hosts $2 out of cluster $1 would break, worst first: rows
-- (kind, cluster name, what, left, limit) for the minimum hosts, minimum
-- cores and each service quorum the hosts left in service (ONLINE or
-- DEGRADED, not among $2) would fall under. No row: the removal is safe.
WITH c AS (
    SELECT id, name, min_hosts, min_cores FROM cluster WHERE id = $1
), left_hosts AS (
    SELECT h.id, h.cpu_cores FROM host h
    WHERE h.cluster_id = $1 AND h.state IN ('ONLINE', 'DEGRADED') AND NOT (h.id = ANY($2))
), totals AS (
    SELECT count(*) AS hosts, coalesce(sum(cpu_cores), 0) AS cores FROM left_hosts
), quorum AS (
    SELECT q.service, q.min_started,
           (SELECT count(DISTINCT hc.host_id) FROM host_component hc JOIN left_hosts l ON l.id = hc.host_id
            WHERE hc.service = q.service AND hc.actual_state = 'STARTED') AS started
    FROM cluster_service_quorum q WHERE q.cluster_id = $1
)
SELECT 'min' AS kind, c.name, 'hosts', t.hosts, c.min_hosts::bigint FROM c, totals t WHERE t.hosts < c.min_hosts
UNION ALL
SELECT 'min', c.name, 'cores', t.cores, c.min_cores::bigint FROM c, totals t WHERE t.cores < c.min_cores
UNION ALL
SELECT 'quorum', c.name, q.service, q.started, q.min_started::bigint FROM c, quorum q WHERE q.started < q.min_started
