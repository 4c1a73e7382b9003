-- The components that should run and do not, on hosts keep-alive may touch,
-- with their restarts in the window and whether an alert is open: one pass
-- over host_component, whatever the fleet's size.
-- Hosts with a task of an active operation running on them (a RESTART or an
-- UPGRADE stops and starts their services on purpose) are left to it: busy
-- reads the running tasks of the few active operations only.
-- $1: the window's start.
WITH busy AS (
    SELECT DISTINCT t.host_id FROM operation o
    JOIN operation_task t ON t.operation_id = o.id AND t.state = 'RUNNING'
    WHERE o.state IN ('PENDING', 'RUNNING', 'PAUSED')
)
SELECT c.host_id, h.cluster_id, h.hostname, c.service, c.component, c.actual_state,
       coalesce(r.n, 0)::int AS restarts, r.last, a.id IS NOT NULL AS alerted
FROM host_component c
JOIN host h ON h.id = c.host_id
LEFT JOIN LATERAL (
    SELECT count(*) AS n, max(x.at) AS last FROM component_restart x
    WHERE x.host_id = c.host_id AND x.service = c.service AND x.component = c.component AND x.at > $1
) r ON true
LEFT JOIN keepalive_alert a ON a.host_id = c.host_id AND a.service = c.service AND a.component = c.component
    AND a.resolved_at IS NULL
WHERE c.desired_state = 'STARTED' AND c.actual_state IN ('STOPPED', 'FAILED')
  AND h.state IN ('ONLINE', 'DEGRADED') AND h.held_by_operation IS NULL
  AND NOT EXISTS (SELECT 1 FROM busy WHERE busy.host_id = c.host_id)
ORDER BY c.host_id, c.service, c.component
