-- Delete up to $1 tasks finished before $2 (retention), oldest first.
DELETE FROM agent_task WHERE id IN (
    SELECT id FROM agent_task WHERE finished_at < $2 ORDER BY finished_at LIMIT $1)
