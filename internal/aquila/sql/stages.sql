-- The stages of operations $1, in order, with their task counts by state: one
-- statement for every operation a request reads (the GraphQL loader), so a
-- list of operations costs one round trip, not one per operation. Each stage
-- counts its own tasks through operation_task_stage_state_idx (a LATERAL per
-- stage measured faster than one grouped join over all the operations' tasks,
-- for one operation and for fifty). Counts are read from the tasks
-- themselves: the engine's jobs change tasks concurrently on every replica,
-- and nothing kept beside them can drift.
SELECT s.operation_id, s.id, s.position, s.name, s.state, s.rollback, s.started_at, s.ended_at,
       coalesce(c.states, '{}'), coalesce(c.counts, '{}')
FROM operation_stage s
LEFT JOIN LATERAL (
    SELECT array_agg(g.state) AS states, array_agg(g.n) AS counts
    FROM (SELECT t.state, count(*)::int AS n FROM operation_task t WHERE t.stage_id = s.id GROUP BY t.state) g
) c ON true
WHERE s.operation_id = ANY($1::bigint[])
ORDER BY s.operation_id, s.position
