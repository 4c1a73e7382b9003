-- The packages of a bulk load's stack versions, by natural key.
INSERT INTO stack_version_package (stack_version_id, service_package_id)
SELECT sv.id, sp.id
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(stack, version, service, pkg_version)
JOIN stack s ON s.name = u.stack
JOIN stack_version sv ON sv.stack_id = s.id AND sv.version = u.version
JOIN service_package sp ON sp.service = u.service AND sp.version = u.pkg_version
