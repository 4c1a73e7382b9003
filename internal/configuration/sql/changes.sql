SELECT c.id, c.base_version, c.state, c.author_id, c.author, c.message, c.required_approvals, c.applied_version, c.created_at,
    (SELECT count(*) FROM config_review r WHERE r.change_id = c.id AND r.approve AND r.reviewer_id <> c.author_id)
FROM config_change c
WHERE c.cluster_id = $1 AND ($2 = '' OR c.state = $2)
ORDER BY c.id DESC
LIMIT $3
