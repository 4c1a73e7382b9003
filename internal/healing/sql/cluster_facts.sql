-- Per cluster of $1: hosts (not DECOMMISSIONED), hosts healing now, hosts
-- whose healing (or hand-over) started since $2, and the operation holding
-- the cluster, if any, and whether the cluster has a minimum capacity or a
-- service quorum to check (most have none, and need no check per host), and
-- the cluster's own healing policy (NULLs: its kind's defaults).
SELECT c.id,
    (SELECT count(*) FROM host h WHERE h.cluster_id = c.id AND h.state <> 'DECOMMISSIONED')::int,
    (SELECT count(*) FROM healing_attempt a WHERE a.cluster_id = c.id AND a.state = 'HEALING')::int,
    (SELECT count(*) FROM healing_attempt a WHERE a.cluster_id = c.id AND a.started_at > $2)::int,
    o.id, o.kind, o.state,
    c.min_hosts > 0 OR c.min_cores > 0 OR EXISTS (SELECT 1 FROM cluster_service_quorum q WHERE q.cluster_id = c.id),
    coalesce(p.enabled, true), p.max_at_once, p.max_at_once_pct, p.max_per_day, p.allow_reboot, coalesce(p.updated_by, '')
FROM cluster c
LEFT JOIN cluster_healing_policy p ON p.cluster_id = c.id
LEFT JOIN operation o ON o.cluster_id = c.id AND o.state IN ('PENDING', 'RUNNING', 'PAUSED')
WHERE c.id = ANY($1)
