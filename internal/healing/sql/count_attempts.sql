-- How many attempts the listing (attempts.sql) holds over all its pages: in
-- state $1 (NULL: any), of cluster $2 (NULL: any), started since $3 — the
-- same filters, without the keyset.
SELECT count(*)
FROM healing_attempt a JOIN host h ON h.id = a.host_id
WHERE ($1::text IS NULL OR a.state = $1) AND ($2::bigint IS NULL OR a.cluster_id = $2)
  AND a.started_at >= $3
