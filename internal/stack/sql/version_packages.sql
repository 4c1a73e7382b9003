-- The packages of stack versions, through stack_version_package_pkey.
SELECT svp.stack_version_id, p.id, p.service, p.version, p.build, p.checksum, p.source_kind, p.source_uri, p.source_ref,
       p.start_order, p.stop_order, p.health_kind, p.health_target, p.health_timeout_ms,
       p.restart_policy, p.max_restarts, p.registered_at,
       ARRAY(SELECT d.service FROM service_package_dependency d WHERE d.package_id = p.id ORDER BY d.position) AS dep_services,
       ARRAY(SELECT d.version_constraint FROM service_package_dependency d WHERE d.package_id = p.id ORDER BY d.position) AS dep_constraints
FROM stack_version_package svp
JOIN service_package p ON p.id = svp.service_package_id
WHERE svp.stack_version_id = ANY($1::bigint[])
ORDER BY svp.stack_version_id, p.service
