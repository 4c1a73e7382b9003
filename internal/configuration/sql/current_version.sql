SELECT EXISTS (SELECT 1 FROM cluster WHERE id = $1),
    coalesce((SELECT max(version) FROM config_version WHERE cluster_id = $1), 0)
