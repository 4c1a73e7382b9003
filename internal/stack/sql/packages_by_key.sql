-- Packages by (service, version): through service_package_key. ord is the
-- position of the pair asked for.
SELECT u.ord, p.id, p.service, p.version, p.build, p.checksum, p.source_kind, p.source_uri, p.source_ref,
       p.start_order, p.stop_order, p.health_kind, p.health_target, p.health_timeout_ms,
       p.restart_policy, p.max_restarts, p.registered_at,
       ARRAY(SELECT d.service FROM service_package_dependency d WHERE d.package_id = p.id ORDER BY d.position) AS dep_services,
       ARRAY(SELECT d.version_constraint FROM service_package_dependency d WHERE d.package_id = p.id ORDER BY d.position) AS dep_constraints
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(service, version, ord)
JOIN service_package p ON p.service = u.service AND p.version = u.version
