SELECT pe.name || ' <' || pe.email || '>' || CASE WHEN r.comment <> '' THEN ' (' || replace(r.comment, E'\n', ' ') || ')' ELSE '' END
    FROM config_review r JOIN person pe ON pe.id = r.reviewer_id
    WHERE r.change_id = $1 AND r.approve ORDER BY r.created_at, r.reviewer_id
