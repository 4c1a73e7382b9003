SELECT g.id, g.cluster_id, g.name, g.position, g.rule_kind, g.rule_values,
    coalesce((SELECT array_agg(m.host_id ORDER BY m.host_id) FROM config_group_host m
              WHERE m.group_id = g.id AND ($2::bigint IS NULL OR m.host_id = $2)), '{}')
    FROM config_group g WHERE g.cluster_id = $1 ORDER BY g.position
