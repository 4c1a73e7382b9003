-- The agent's templates of a bulk load's packages.
UPDATE service_package sp SET operations = u.ops::jsonb
FROM unnest($1::bigint[], $2::text[]) AS u(id, ops)
WHERE sp.id = u.id
