-- The task an agent reports on, locked, if it is its host's; late when its
-- deadline or lease has passed (by the database's clock, the one expiry uses).
SELECT state, lease_seconds, cancel_requested_at IS NOT NULL,
       (deadline <= now() OR coalesce(lease_until <= now(), false)) AS late
FROM agent_task WHERE id = $1 AND host_id = $2
FOR UPDATE
