INSERT INTO config_group (cluster_id, name, position, rule_kind, rule_values)
    VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (cluster_id, name) DO UPDATE SET position = EXCLUDED.position, rule_kind = EXCLUDED.rule_kind, rule_values = EXCLUDED.rule_values
    RETURNING id
