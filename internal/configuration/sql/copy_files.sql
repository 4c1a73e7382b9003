INSERT INTO config_file (cluster_id, version, scope, service, path, sha256)
    SELECT cluster_id, $3, scope, service, path, sha256 FROM config_file WHERE cluster_id = $1 AND version = $2
