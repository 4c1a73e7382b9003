SELECT scope, service, path, sha256 FROM config_file WHERE cluster_id = $1 AND version = $2
