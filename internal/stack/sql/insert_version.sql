-- A stack version; no row when the stack already has that version.
INSERT INTO stack_version (stack_id, version, partial, notes)
VALUES ($1, $2, $3, $4)
ON CONFLICT (stack_id, version) DO NOTHING
RETURNING id, released_at
