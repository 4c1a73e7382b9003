-- Moves pool machines $2 into cluster $1 in MAINTENANCE (reason $3), under
-- their own ids: a machine that served before gets its DECOMMISSIONED host
-- row back with the pool's facts, a new one a host row with its pool id
-- (OVERRIDING SYSTEM VALUE: the id came from host's identity sequence). The
-- spare rows go. Returns the ids admitted.
WITH moved AS (
    DELETE FROM spare_host WHERE id = ANY($2) RETURNING *
), revived AS (
    UPDATE host h SET
        cluster_id = $1, state = 'MAINTENANCE', state_reason = $3, held_by_operation = NULL,
        rack = m.rack, ip = m.ip, cpu_cores = m.cpu_cores, memory_bytes = m.memory_bytes,
        disk_bytes = m.disk_bytes, nic_bps = m.nic_bps, os = m.os, kernel = m.kernel, model = m.model
    FROM moved m
    WHERE h.id = m.id
    RETURNING h.id
), inserted AS (
    INSERT INTO host (id, cluster_id, hostname, rack, ip, cpu_cores, memory_bytes, disk_bytes, nic_bps,
                      os, kernel, model, state, state_reason)
    OVERRIDING SYSTEM VALUE
    SELECT m.id, $1, m.hostname, m.rack, m.ip, m.cpu_cores, m.memory_bytes, m.disk_bytes, m.nic_bps,
           m.os, m.kernel, m.model, 'MAINTENANCE', $3
    FROM moved m
    WHERE NOT EXISTS (SELECT 1 FROM host h WHERE h.id = m.id)
    RETURNING id
)
SELECT id FROM revived UNION ALL SELECT id FROM inserted ORDER BY 1
