SELECT cluster_id, version, change_id, rollback_of, author, message, created_at
    FROM config_version WHERE cluster_id = $1 ORDER BY version DESC LIMIT $2
