-- A page of packages, of one service when $1 is set, by service then
-- registration; total is the count of the whole listing.
SELECT count(*) OVER () AS total, p.id, p.service, p.version, p.build, p.checksum, p.source_kind, p.source_uri, p.source_ref,
       p.start_order, p.stop_order, p.health_kind, p.health_target, p.health_timeout_ms,
       p.restart_policy, p.max_restarts, p.registered_at,
       ARRAY(SELECT d.service FROM service_package_dependency d WHERE d.package_id = p.id ORDER BY d.position) AS dep_services,
       ARRAY(SELECT d.version_constraint FROM service_package_dependency d WHERE d.package_id = p.id ORDER BY d.position) AS dep_constraints
FROM service_package p
WHERE $1::text IS NULL OR p.service = $1
ORDER BY p.service, p.id
OFFSET $2 LIMIT $3
