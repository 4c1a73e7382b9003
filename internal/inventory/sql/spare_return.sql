-- Returns hosts $1 to pool $2: each host row becomes DECOMMISSIONED (reason
-- $3) and stays, keeping the machine's history; a READY spare_host row with
-- the same id and the host's facts joins the pool in the cluster's region.
WITH gone AS (
    UPDATE host SET state = 'DECOMMISSIONED', state_reason = $3, held_by_operation = NULL
    WHERE id = ANY($1) AND state <> 'DECOMMISSIONED'
    RETURNING id, cluster_id, hostname, rack, ip, cpu_cores, memory_bytes, disk_bytes, nic_bps, os, kernel, model
)
INSERT INTO spare_host (id, hostname, pool, region, rack, ip, cpu_cores, memory_bytes, disk_bytes, nic_bps,
                        os, kernel, model, last_cluster_id)
SELECT g.id, g.hostname, $2, c.region, g.rack, g.ip, greatest(g.cpu_cores, 1), greatest(g.memory_bytes, 1),
       g.disk_bytes, g.nic_bps, g.os, g.kernel, g.model, g.cluster_id
FROM gone g JOIN cluster c ON c.id = g.cluster_id
ON CONFLICT (id) DO NOTHING
