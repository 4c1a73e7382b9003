-- Stack versions by id, with their stack's name.
SELECT v.id, v.stack_id, s.name, v.version, v.partial, v.notes, v.released_at
FROM stack_version v JOIN stack s ON s.id = v.stack_id
WHERE v.id = ANY($1::bigint[])
