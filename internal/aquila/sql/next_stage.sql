-- The first stage of operation $1 that still has work: PENDING or RUNNING tasks.
SELECT min(s.position)
FROM operation_stage s
WHERE s.operation_id = $1
  AND EXISTS (SELECT 1 FROM operation_task t WHERE t.stage_id = s.id AND t.state IN ('PENDING', 'RUNNING'))
