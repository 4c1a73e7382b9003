-- name: EntryInsert :exec
INSERT INTO audit_log (person_id, actor, action, target, input, outcome, error, remote_addr)
VALUES (@person_id, @actor, @action, @target, @input, @outcome, @error, @remote_addr);

-- name: EntryByID :one
SELECT * FROM audit_log WHERE id = @id;
