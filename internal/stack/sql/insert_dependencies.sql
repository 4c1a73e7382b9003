-- A package's dependencies, in declared order.
INSERT INTO service_package_dependency (package_id, service, version_constraint, position)
SELECT $1, u.service, u.version_constraint, u.ord
FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(service, version_constraint, ord)
