SELECT c.name, v.change_id, v.rollback_of, coalesce(pe.name, v.author), coalesce(pe.email, v.author || '@tesla'),
    v.message, v.created_at
    FROM config_version v JOIN cluster c ON c.id = v.cluster_id LEFT JOIN person pe ON pe.id = v.author_id
    WHERE v.cluster_id = $1 AND v.version = $2
