INSERT INTO config_change_file (change_id, scope, service, path, content)
    SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[])
