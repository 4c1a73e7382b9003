UPDATE config_change c SET updated_at = $2, state = CASE
    WHEN EXISTS (SELECT 1 FROM config_review r WHERE r.change_id = c.id AND NOT r.approve) THEN 'REJECTED'
    WHEN (SELECT count(*) FROM config_review r WHERE r.change_id = c.id AND r.approve AND r.reviewer_id <> c.author_id) >= c.required_approvals THEN 'APPROVED'
    ELSE 'PROPOSED' END
    WHERE c.id = $1
