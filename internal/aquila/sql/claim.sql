-- Claims up to $3 tasks of stage $1 for River job $2: PENDING tasks (a new
-- attempt), tasks this same job claimed before it was interrupted, and tasks
-- whose lease ran out because their worker died (both keep their attempt, so
-- the executor sees the same idempotency key). SKIP LOCKED lets the jobs of
-- every replica claim side by side. A host in MAINTENANCE held by the task's
-- own operation (a scale-out admitting it, a decommission draining it) reports
-- HELD, so its tasks run; other MAINTENANCE hosts are skipped.
--
-- The out-of-service share ($7 hosts of cluster $6: the operation's share of
-- its hosts, DECOMMISSIONED aside, at least one; for operation $5) is enforced
-- here, over the cluster as it is now: the hosts already out are those
-- OFFLINE or REPAIRING plus those this operation holds a RUNNING task on. A
-- PENDING task on an in-service host (ONLINE or DEGRADED) takes one more host
-- out, so only as many of them are claimed as the share has room for; the
-- others (hosts already out, skipped MAINTENANCE hosts, tasks re-claimed
-- after a crash) take nothing more and are always claimed. The caller holds
-- the operation's claim lock, so the claims of every job of the operation
-- count one after another.
-- $8 false leaves the cluster's other hosts out of the count (SELF_HEAL:
-- the healing job sized the operation within the cluster's own budget, and
-- its hosts are the ones out).
WITH out_hosts AS (
    SELECT h.id FROM host h
    WHERE $8::boolean AND h.cluster_id = $6 AND h.state IN ('OFFLINE', 'REPAIRING')
    UNION
    SELECT t.host_id FROM operation_task t
    WHERE t.operation_id = $5 AND t.state = 'RUNNING'
),
room AS (
    SELECT $7::int - count(*) AS n FROM out_hosts
),
candidates AS (
    SELECT id FROM operation_task
    WHERE stage_id = $1
      AND (state = 'PENDING' OR (state = 'RUNNING' AND (claimed_by = $2 OR lease_until < now())))
    ORDER BY id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
),
costed AS (
    SELECT c.id, x.cost, sum(x.cost) OVER (ORDER BY c.id) AS used
    FROM candidates c
    JOIN operation_task t ON t.id = c.id
    JOIN host h ON h.id = t.host_id
    CROSS JOIN LATERAL (SELECT CASE WHEN t.state = 'PENDING' AND h.state IN ('ONLINE', 'DEGRADED') THEN 1 ELSE 0 END AS cost) x
),
picked AS (
    SELECT costed.id FROM costed, room WHERE costed.cost = 0 OR costed.used <= room.n
)
UPDATE operation_task t SET
    attempts    = CASE WHEN t.state = 'PENDING' THEN t.attempts + 1 ELSE t.attempts END,
    started_at  = CASE WHEN t.state = 'PENDING' THEN now() ELSE t.started_at END,
    state       = 'RUNNING',
    claimed_by  = $2,
    lease_until = now() + $4::interval
FROM picked, host h
WHERE t.id = picked.id AND h.id = t.host_id
RETURNING t.id, t.host_id, h.hostname,
    CASE WHEN h.state = 'MAINTENANCE' AND h.held_by_operation = t.operation_id THEN 'HELD' ELSE h.state END,
    t.action, t.params, t.attempts
