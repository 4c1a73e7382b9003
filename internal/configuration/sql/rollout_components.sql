SELECT c.host_id, c.service, min(c.config_version)
    FROM host_component c JOIN host h ON h.id = c.host_id
    WHERE h.cluster_id = $1 AND h.state <> 'DECOMMISSIONED'
    GROUP BY c.host_id, c.service
