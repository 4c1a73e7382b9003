-- A stack version's packages.
INSERT INTO stack_version_package (stack_version_id, service_package_id)
SELECT $1, unnest($2::bigint[])
