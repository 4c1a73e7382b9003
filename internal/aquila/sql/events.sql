-- An operation's events, newest first, before id $2 (keyset), at most $3.
SELECT id, at, level, message, task_id
FROM operation_event
WHERE operation_id = $1 AND id < $2
ORDER BY id DESC
LIMIT $3
