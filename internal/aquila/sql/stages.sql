-- An operation's stages in order, with their task counts by state.
SELECT s.id, s.position, s.name, s.state, s.rollback, s.started_at, s.ended_at,
       coalesce(c.states, '{}'), coalesce(c.counts, '{}')
FROM operation_stage s
LEFT JOIN LATERAL (
    SELECT array_agg(state) AS states, array_agg(n) AS counts
    FROM (SELECT t.state, count(*)::int AS n FROM operation_task t WHERE t.stage_id = s.id GROUP BY t.state) g
) c ON true
WHERE s.operation_id = $1
ORDER BY s.position
