SELECT f.scope, f.service, f.path, b.content
    FROM unnest($3::bigint[], $4::text[], $5::text[]) AS k(scope, service, path)
    JOIN config_file f ON f.cluster_id = $1 AND f.version = $2 AND (f.scope, f.service, f.path) = (k.scope, k.service, k.path)
    JOIN config_blob b ON b.sha256 = f.sha256
