-- Attempts newest first: in state $1 (NULL: any), of cluster $2 (NULL: any),
-- started since $3, before the keyset ($4 started_at, $5 id), at most $6.
SELECT a.id, a.host_id, h.hostname, a.cluster_id, a.signals, a.detail, a.repair, a.state, a.operation_id, a.ticket_id,
       a.reason, a.started_at, a.ended_at
FROM healing_attempt a JOIN host h ON h.id = a.host_id
WHERE ($1::text IS NULL OR a.state = $1) AND ($2::bigint IS NULL OR a.cluster_id = $2)
  AND a.started_at >= $3 AND (a.started_at, a.id) < ($4, $5)
ORDER BY a.started_at DESC, a.id DESC
LIMIT $6
