UPDATE config_git_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1)
