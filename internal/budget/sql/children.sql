-- A BU's active child BUs (the inventory's tree, read-only).
SELECT id, name FROM bu WHERE parent_id = $1 AND active ORDER BY name
