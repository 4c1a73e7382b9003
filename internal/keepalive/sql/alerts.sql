-- Alerts, newest first: of hosts ($1, NULL: any), open only ($2), before the
-- keyset ($3 raised_at, $4 id), at most $5, of cluster $6 (0: any).
SELECT id, host_id, cluster_id, service, component, raised_at, restarts, window_seconds, message, resolved_at
FROM keepalive_alert
WHERE ($1::bigint[] IS NULL OR host_id = ANY($1))
  AND (NOT $2 OR resolved_at IS NULL)
  AND (raised_at, id) < ($3, $4)
  AND ($6::bigint = 0 OR cluster_id = $6)
ORDER BY raised_at DESC, id DESC
LIMIT $5
