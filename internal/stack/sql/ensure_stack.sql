-- The stack named $1, created on its first version.
WITH created AS (
    INSERT INTO stack (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id
)
SELECT id FROM created UNION ALL SELECT id FROM stack WHERE name = $1
LIMIT 1
