-- Cancel a task: a queued one fails at once (no agent has it); a claimed or
-- running one is marked, and its agent is told at its next report. Returns
-- the state after.
UPDATE agent_task SET updated_at = now(),
       cancel_requested_at = coalesce(cancel_requested_at, now()),
       state = CASE WHEN state = 'QUEUED' THEN 'FAILED' ELSE state END,
       error = CASE WHEN state = 'QUEUED' THEN 'cancelled before an agent claimed it' ELSE error END,
       finished_at = CASE WHEN state = 'QUEUED' THEN now() ELSE finished_at END
WHERE id = $1 AND state IN ('QUEUED', 'CLAIMED', 'RUNNING')
RETURNING state
