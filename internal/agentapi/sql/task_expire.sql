-- Expire up to $1 unfinished tasks past their deadline or, claimed, past
-- their lease ($2: only this task, when not null). SKIP LOCKED leaves a task
-- whose report is being stored to that report.
UPDATE agent_task t SET state = 'EXPIRED', finished_at = now(), updated_at = now(),
       error = CASE
           WHEN t.state = 'QUEUED' THEN 'no agent claimed the task before its deadline (' || to_char(t.deadline, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '): is the host''s agent running?'
           WHEN t.deadline <= now() THEN 'the task ran past its deadline (' || to_char(t.deadline, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ') without a final report'
           ELSE 'the agent stopped reporting: the lease ran out at ' || to_char(t.lease_until, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' (agent stopped, host down or partitioned); the task is not given again'
       END
FROM (SELECT id FROM agent_task
      WHERE state IN ('QUEUED', 'CLAIMED', 'RUNNING')
        AND (deadline <= now() OR (state <> 'QUEUED' AND lease_until <= now()))
        AND ($2::bigint IS NULL OR id = $2)
      ORDER BY id LIMIT $1
      FOR UPDATE SKIP LOCKED) due
WHERE t.id = due.id
RETURNING t.id
