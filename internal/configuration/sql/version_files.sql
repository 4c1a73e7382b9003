SELECT coalesce(g.name, ''), f.scope, f.service, f.path, b.content
    FROM config_file f JOIN config_blob b ON b.sha256 = f.sha256
    LEFT JOIN config_group g ON g.id = f.scope
    WHERE f.cluster_id = $1 AND f.version = $2 ORDER BY f.scope, f.service, f.path
