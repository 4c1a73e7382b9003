-- Queue a task unless its idempotency key is known; either way return the
-- row's id, host and action, and whether this call inserted it. The no-op
-- update makes RETURNING give the existing row on a conflict.
INSERT INTO agent_task (host_id, idempotency_key, action, spec, lease_seconds, deadline)
VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 second')
ON CONFLICT ON CONSTRAINT agent_task_idempotency_key_key
    DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
RETURNING id, host_id, spec = $4::jsonb AS same_spec, (xmax = 0) AS inserted
