-- Deletes restarts older than $1 (through component_restart_at_idx) and
-- alerts resolved before it (a small table), at most $2 of each, and counts
-- them.
WITH r AS (
    DELETE FROM component_restart WHERE id IN (SELECT id FROM component_restart WHERE at < $1 ORDER BY at LIMIT $2)
    RETURNING 1
), a AS (
    DELETE FROM keepalive_alert WHERE id IN (
        SELECT id FROM keepalive_alert WHERE resolved_at < $1 ORDER BY resolved_at LIMIT $2)
    RETURNING 1
)
SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM a)
