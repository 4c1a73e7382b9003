-- Picks and locks $3 READY pool machines of region $2 for a scale-out of
-- cluster $1: the cluster's most common hardware (cores, memory) first, then
-- machines with at least its cores, then hostname order. SKIP LOCKED: a
-- concurrent scale-out takes other machines. Reads the cluster's live hosts
-- once (host_cluster_state_idx) and the region's READY machines
-- (spare_host_pick_idx).
WITH typical AS (
    SELECT cpu_cores, memory_bytes
    FROM host
    WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED'
    GROUP BY cpu_cores, memory_bytes
    ORDER BY count(*) DESC, cpu_cores DESC, memory_bytes DESC
    LIMIT 1
)
SELECT s.id, s.hostname, s.pool, s.region, s.rack, s.cpu_cores, s.memory_bytes, s.disk_bytes, s.nic_bps,
       s.model, s.state, s.state_reason, s.last_cluster_id, s.since
FROM spare_host s
LEFT JOIN typical t ON true
WHERE s.region = $2 AND s.state = 'READY'
ORDER BY (s.cpu_cores = t.cpu_cores AND s.memory_bytes = t.memory_bytes) IS TRUE DESC,
         (s.cpu_cores >= t.cpu_cores) IS NOT FALSE DESC,
         s.hostname
LIMIT $3
FOR UPDATE OF s SKIP LOCKED
