-- A stack's versions, oldest release first (a stack has tens).
SELECT v.id, v.stack_id, s.name, v.version, v.partial, v.notes, v.released_at
FROM stack s JOIN stack_version v ON v.stack_id = s.id
WHERE s.name = $1
ORDER BY v.released_at, v.id
