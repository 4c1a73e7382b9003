-- Resolves the open alerts of components running again, no longer desired
-- STARTED, or gone; the open alerts are few (one per component given up on).
UPDATE keepalive_alert a SET resolved_at = $1
WHERE a.resolved_at IS NULL AND NOT EXISTS (
    SELECT 1 FROM host_component c
    WHERE c.host_id = a.host_id AND c.service = a.service AND c.component = a.component
      AND c.desired_state = 'STARTED' AND c.actual_state <> 'STARTED')
RETURNING a.id, a.host_id
