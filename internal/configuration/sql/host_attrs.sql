SELECT h.cluster_id, h.id, h.rack, h.model, coalesce(a.label::text, '')
    FROM host h
    LEFT JOIN clustering_assignment a ON a.host_id = h.id
    AND a.run_id = (SELECT id FROM clustering_run ORDER BY computed_at DESC, id DESC LIMIT 1)
    WHERE h.id = $1
