-- name: TokenInsert :one
INSERT INTO api_token (person_id, name, prefix, token_hash, role, scopes, expires_at, cluster_id)
VALUES (@person_id, @name, @prefix, @token_hash, @role, @scopes, @expires_at, sqlc.narg(cluster_id))
RETURNING *;

-- name: TokensByIDs :many
SELECT * FROM api_token WHERE id = ANY(@ids::bigint[]);

-- name: TokenCount :one
SELECT count(*) FROM api_token
WHERE sqlc.narg(person_id)::bigint IS NULL OR person_id = sqlc.narg(person_id);

-- name: TokenPage :many
SELECT * FROM api_token
WHERE sqlc.narg(person_id)::bigint IS NULL OR person_id = sqlc.narg(person_id)
ORDER BY id DESC
OFFSET sqlc.arg(skip)::int LIMIT sqlc.arg(max)::int;

-- TokenAuthenticate finds a live token by the hash of its secret, with its
-- person as they are now.
-- name: TokenAuthenticate :one
SELECT t.id, t.role, t.scopes, t.expires_at, t.last_used_at, t.cluster_id,
    p.id AS person_id, p.login, p.name, p.bu_id, p.role AS person_role
FROM api_token t JOIN person p ON p.id = t.person_id
WHERE t.token_hash = @token_hash
    AND t.revoked_at IS NULL
    AND (t.expires_at IS NULL OR t.expires_at > now())
    AND p.active;

-- name: TokenTouch :exec
UPDATE api_token SET last_used_at = now() WHERE id = @id;

-- Revoking twice keeps the first revocation time.
-- name: TokenRevoke :one
UPDATE api_token SET revoked_at = coalesce(revoked_at, now()) WHERE id = @id
RETURNING *;

-- name: PersonActiveByLogin :one
SELECT id, role FROM person WHERE login = @login AND active;

-- name: BUSubtree :many
WITH RECURSIVE t AS (
    SELECT bu.id FROM bu WHERE bu.id = @bu_id
    UNION
    SELECT b.id FROM bu b JOIN t ON b.parent_id = t.id
)
SELECT t.id FROM t ORDER BY t.id;

-- The payload is the person's id and nothing else.
-- name: CredentialsNotify :exec
SELECT pg_notify(@channel::text, sqlc.arg(person_id)::bigint::text);

-- name: TokensRevokeOfPerson :execrows
UPDATE api_token SET revoked_at = now() WHERE person_id = @person_id AND revoked_at IS NULL;

-- name: SessionsDeleteOfPerson :execrows
DELETE FROM web_session WHERE person_id = @person_id;
