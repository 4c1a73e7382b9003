SELECT count(*), coalesce(array_agg(DISTINCT f.scope ORDER BY f.scope), '{}')
    FROM config_file f
    WHERE f.cluster_id = $1 AND f.version = $2 AND f.scope <> 0
      AND NOT EXISTS (SELECT 1 FROM config_group g WHERE g.id = f.scope)
