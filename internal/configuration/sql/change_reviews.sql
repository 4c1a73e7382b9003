SELECT reviewer_id, reviewer, approve, comment, created_at FROM config_review
    WHERE change_id = $1 ORDER BY created_at, reviewer_id
