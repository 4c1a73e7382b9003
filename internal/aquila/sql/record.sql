-- Records a batch's results: only tasks still RUNNING under the job that
-- claimed them, so a result never lands twice or over an abort.
UPDATE operation_task t SET
    state = r.state, output = r.output, ended_at = now(), claimed_by = NULL, lease_until = NULL
FROM unnest($2::bigint[], $3::text[], $4::text[]) AS r(id, state, output)
WHERE t.id = r.id AND t.state = 'RUNNING' AND t.claimed_by = $1
RETURNING t.id, t.state
