-- Installs on hosts $2 the worker profile of cluster $1: every (service,
-- component) found on at least half of the cluster's other live hosts, at the
-- version most of them run; desired STARTED, actual INSTALLED until started.
WITH others AS (
    SELECT id FROM host
    WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED' AND NOT (id = ANY($2))
), profile AS (
    SELECT c.service, c.component, mode() WITHIN GROUP (ORDER BY c.version) AS version
    FROM others o JOIN host_component c ON c.host_id = o.id
    GROUP BY c.service, c.component
    HAVING count(*) * 2 >= (SELECT count(*) FROM others)
)
INSERT INTO host_component (host_id, service, component, desired_state, actual_state, version, updated_at)
SELECT u.id, p.service, p.component, 'STARTED', 'INSTALLED', p.version, $3
FROM unnest($2::bigint[]) AS u(id) CROSS JOIN profile p
ON CONFLICT (host_id, service, component) DO UPDATE SET
    desired_state = 'STARTED', actual_state = 'INSTALLED', version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
