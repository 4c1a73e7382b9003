-- Sick hosts and their signals, one row per signal: missed heartbeats (OFFLINE,
-- or silent since $1), open hardware faults of HIGH or CRITICAL severity
-- without a ticket, failed health checks (a component keep-alive gave up on,
-- or a host health score under $2), and open anomaly episodes of HIGH or
-- CRITICAL severity. Each signal is read from its own small set (indexes or
-- tables of open items); only hosts healing may act on are kept: in service or
-- OFFLINE, not held by an operation, not healing already, without an
-- unfinished repair ticket. w.since is when a previous pass first saw the host
-- waiting; healed_at when it was last healed (a cool-down: signals such as
-- health scores follow a repair only at their next computation).
-- agent_heartbeat_at is the host agent's own last heartbeat: healing going
-- through agents sends no agent step to a host whose agent is silent.
WITH s (host_id, signal, severity, detail) AS (
    SELECT id, 'HEARTBEAT', '', CASE WHEN state = 'OFFLINE' THEN 'host is OFFLINE'
        ELSE 'no heartbeat since ' || to_char(last_heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC' END
    FROM host WHERE state = 'OFFLINE' OR (state IN ('ONLINE', 'DEGRADED') AND last_heartbeat < $1)
    UNION ALL
    SELECT host_id, 'HARDWARE_FAULT', severity, component || ' ' || kind || ' (' || severity || ')'
    FROM hardware_fault WHERE status = 'OPEN' AND ticket_id IS NULL AND severity IN ('HIGH', 'CRITICAL')
    UNION ALL
    SELECT a.host_id, 'HEALTH_CHECK', '', 'keep-alive gave up on ' || a.service || ' ' || a.component
    FROM keepalive_alert a WHERE a.resolved_at IS NULL AND EXISTS (SELECT 1 FROM host_component c
        WHERE c.host_id = a.host_id AND c.service = a.service AND c.component = a.component AND c.actual_state <> 'STARTED')
    UNION ALL
    SELECT subject_id, 'HEALTH_CHECK', '', 'health score ' || round(score::numeric) || coalesce(nullif(': ' || reason, ': '), '')
    FROM health_score WHERE level = 'HOST' AND score < $2
    UNION ALL
    SELECT host_id, 'ANOMALY', severity, metric || ' ' || kind || ' anomaly (' || severity || ')'
    FROM anomaly_episode WHERE status = 'OPEN' AND severity IN ('HIGH', 'CRITICAL')
)
SELECT h.id, h.cluster_id, c.kind, h.hostname, h.state, w.since,
    (SELECT max(a.ended_at) FROM healing_attempt a WHERE a.host_id = h.id AND a.state = 'HEALED') AS healed_at,
    h.agent_heartbeat_at,
    s.signal, s.severity, s.detail
FROM s
JOIN host h ON h.id = s.host_id
JOIN cluster c ON c.id = h.cluster_id
LEFT JOIN healing_wait w ON w.host_id = h.id
WHERE h.state IN ('ONLINE', 'DEGRADED', 'OFFLINE') AND h.held_by_operation IS NULL AND c.status <> 'RETIRED'
  AND NOT EXISTS (SELECT 1 FROM healing_attempt a WHERE a.host_id = h.id AND a.state = 'HEALING')
  AND NOT EXISTS (SELECT 1 FROM repair_ticket t WHERE t.host_id = h.id AND t.state IN ('OPEN', 'IN_REPAIR'))
ORDER BY h.cluster_id, h.id, s.signal, s.detail
