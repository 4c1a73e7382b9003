-- Claims up to $3 tasks of stage $1 for River job $2: PENDING tasks (a new
-- attempt), tasks this same job claimed before it was interrupted, and tasks
-- whose lease ran out because their worker died (both keep their attempt, so
-- the executor sees the same idempotency key). SKIP LOCKED lets the jobs of
-- every replica claim side by side. A host in MAINTENANCE held by the task's
-- own operation (a scale-out admitting it, a decommission draining it) reports
-- HELD, so its tasks run; other MAINTENANCE hosts are skipped.
WITH picked AS (
    SELECT id FROM operation_task
    WHERE stage_id = $1
      AND (state = 'PENDING' OR (state = 'RUNNING' AND (claimed_by = $2 OR lease_until < now())))
    ORDER BY id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
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
