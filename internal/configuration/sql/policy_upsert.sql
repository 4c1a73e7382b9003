INSERT INTO config_policy (cluster_id, required_approvals) VALUES ($1, $2)
    ON CONFLICT (cluster_id) DO UPDATE SET required_approvals = EXCLUDED.required_approvals
