INSERT INTO config_version (cluster_id, version, change_id, author_id, author, message, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
