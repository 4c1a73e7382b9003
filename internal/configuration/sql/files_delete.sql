DELETE FROM config_file f USING unnest($3::bigint[], $4::text[], $5::text[]) AS u(scope, service, path)
    WHERE f.cluster_id = $1 AND f.version = $2 AND (f.scope, f.service, f.path) = (u.scope, u.service, u.path)
