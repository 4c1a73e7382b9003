SELECT cluster_id, base_version, state, author_id, author, message, required_approvals, applied_version, created_at,
    (SELECT count(*) FROM config_review r WHERE r.change_id = c.id AND r.approve AND r.reviewer_id <> c.author_id)
    FROM config_change c WHERE id = $1
