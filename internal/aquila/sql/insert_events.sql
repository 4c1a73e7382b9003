-- Appends events to an operation's log.
INSERT INTO operation_event (operation_id, level, message, task_id)
SELECT $1, e.level, e.message, e.task_id
FROM unnest($2::text[], $3::text[], $4::bigint[]) AS e(level, message, task_id)
