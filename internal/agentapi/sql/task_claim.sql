-- Claim up to $2 of host $1's queued tasks, oldest first; another poll of the
-- same host (a second agent instance, a retried request) skips the rows this
-- one holds (SKIP LOCKED) rather than claiming them twice.
UPDATE agent_task t SET state = 'CLAIMED', claimed_at = now(), updated_at = now(),
       lease_until = now() + t.lease_seconds * interval '1 second'
FROM (SELECT id FROM agent_task
      WHERE host_id = $1 AND state = 'QUEUED' AND deadline > now()
      ORDER BY id LIMIT $2
      FOR UPDATE SKIP LOCKED) q
WHERE t.id = q.id
RETURNING t.id, t.spec::text, t.lease_seconds, t.deadline
