-- The stack named $1, created on its first version. DO UPDATE (a no-op
-- write) rather than DO NOTHING so that the id comes back even when another
-- transaction created the stack meanwhile.
INSERT INTO stack (name) VALUES ($1)
ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
RETURNING id
