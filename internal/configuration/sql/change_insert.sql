INSERT INTO config_change (cluster_id, base_version, author_id, author, message, required_approvals)
    VALUES ($1, $2, $3, $4, $5, $6) RETURNING id
