SELECT
    (SELECT count(*) FROM config_file WHERE cluster_id = $1 AND version = $2 AND scope = $3),
    count(*),
    count(DISTINCT c.id)
    FROM config_change_file f JOIN config_change c ON c.id = f.change_id
    WHERE c.cluster_id = $1 AND c.state IN ('PROPOSED', 'APPROVED') AND f.scope = $3
