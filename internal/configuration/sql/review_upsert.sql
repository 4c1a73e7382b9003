INSERT INTO config_review (change_id, reviewer_id, reviewer, approve, comment, created_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (change_id, reviewer_id) DO UPDATE SET approve = EXCLUDED.approve, comment = EXCLUDED.comment, created_at = EXCLUDED.created_at
