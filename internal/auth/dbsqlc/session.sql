-- name: SessionInsert :exec
INSERT INTO web_session (id_hash, person_id, token_id, role, csrf_token, expires_at)
VALUES (@id_hash, @person_id, @token_id, @role, @csrf_token, @expires_at);

-- name: SessionSweep :exec
DELETE FROM web_session WHERE expires_at < now();

-- SessionAuthenticate finds a live session by the hash of its id. A session
-- opened with a token lives no longer than the token: expired or revoked, the
-- session ends too.
-- name: SessionAuthenticate :one
SELECT s.role, s.csrf_token, coalesce(s.token_id, 0)::bigint AS token_id,
    least(s.expires_at, t.expires_at)::timestamptz AS expires_at,
    p.id AS person_id, p.login, p.name, p.bu_id, p.role AS person_role
FROM web_session s
JOIN person p ON p.id = s.person_id
LEFT JOIN api_token t ON t.id = s.token_id
WHERE s.id_hash = @id_hash
    AND s.expires_at > now()
    AND p.active
    AND (s.token_id IS NULL OR (t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())));

-- name: SessionDelete :many
DELETE FROM web_session WHERE id_hash = @id_hash RETURNING person_id;

-- name: SessionDeleteByToken :exec
DELETE FROM web_session WHERE token_id = @token_id;
