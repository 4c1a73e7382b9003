SELECT coalesce(g.name, ''), f.scope, f.service, f.path, f.content
    FROM config_change_file f LEFT JOIN config_group g ON g.id = f.scope
    WHERE f.change_id = $1 ORDER BY f.scope, f.service, f.path
