DELETE FROM config_group WHERE id = $1
