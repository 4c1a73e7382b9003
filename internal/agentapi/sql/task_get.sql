-- One task with its result.
SELECT id, host_id, idempotency_key, action, spec::text, state, steps::text, output, error,
       lease_until, deadline, claimed_at, cancel_requested_at, finished_at, created_at
FROM agent_task WHERE id = $1
