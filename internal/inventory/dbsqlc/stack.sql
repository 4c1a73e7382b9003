-- name: StacksByIDs :many
SELECT * FROM stack WHERE id = ANY(@ids::bigint[]);

-- name: StackVersionsByIDs :many
SELECT * FROM stack_version WHERE id = ANY(@ids::bigint[]);

-- name: StackVersionsByStack :many
SELECT * FROM stack_version WHERE stack_id = ANY(@stacks::bigint[])
ORDER BY stack_id, released_at, id;

-- name: PackagesByStackVersion :many
SELECT sqlc.embed(p), svp.stack_version_id,
       -- the typed dependencies (internal/stack) in the JSON shape the API shows
       COALESCE((SELECT jsonb_agg(jsonb_build_object('service', d.service, 'version', d.version_constraint) ORDER BY d.position)
                 FROM service_package_dependency d WHERE d.package_id = p.id), '[]')::jsonb AS depends_on
FROM stack_version_package svp JOIN service_package p ON p.id = svp.service_package_id
WHERE svp.stack_version_id = ANY(@versions::bigint[])
ORDER BY svp.stack_version_id, p.service;

-- name: PackagesByIDs :many
SELECT sqlc.embed(p),
       COALESCE((SELECT jsonb_agg(jsonb_build_object('service', d.service, 'version', d.version_constraint) ORDER BY d.position)
                 FROM service_package_dependency d WHERE d.package_id = p.id), '[]')::jsonb AS depends_on
FROM service_package p WHERE p.id = ANY(@ids::bigint[]);
