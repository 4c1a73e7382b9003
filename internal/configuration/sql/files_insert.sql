INSERT INTO config_file (cluster_id, version, scope, service, path, sha256)
    SELECT $1, $2, u.scope, u.service, u.path, u.h FROM unnest($3::bigint[], $4::text[], $5::text[], $6::bytea[]) AS u(scope, service, path, h)
    WHERE u.h IS NOT NULL
