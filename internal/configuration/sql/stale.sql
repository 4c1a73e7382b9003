SELECT h.id, h.hostname, c.service, min(c.config_version) AS v, count(*) OVER ()
    FROM host h JOIN host_component c ON c.host_id = h.id
    WHERE h.cluster_id = $1 AND h.state <> 'DECOMMISSIONED' AND c.config_version < $2
    GROUP BY h.id, h.hostname, c.service
    ORDER BY v, h.hostname, c.service LIMIT $3
