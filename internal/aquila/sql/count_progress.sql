-- Adds a recorded batch to the operation's counters.
UPDATE operation SET
    tasks_succeeded = tasks_succeeded + $2,
    tasks_failed    = tasks_failed + $3,
    tasks_skipped   = tasks_skipped + $4,
    updated_at      = now()
WHERE id = $1
RETURNING state, failure_budget
