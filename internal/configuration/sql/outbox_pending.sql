SELECT id, cluster_id, version FROM config_git_outbox WHERE pushed_at IS NULL ORDER BY id LIMIT $1
