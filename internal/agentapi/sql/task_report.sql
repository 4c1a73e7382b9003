-- Store a report: the state, the steps, and at the end the output, error and
-- finish time; every report extends the lease.
UPDATE agent_task SET state = $2, steps = $3, output = $4, error = $5, updated_at = now(),
       lease_until = now() + lease_seconds * interval '1 second',
       finished_at = CASE WHEN $2 IN ('SUCCEEDED', 'FAILED') THEN now() END
WHERE id = $1
