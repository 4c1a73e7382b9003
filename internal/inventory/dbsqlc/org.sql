-- BU trees are small (tens to hundreds of rows), so each lookup computes depth
-- over the whole tree rather than storing it.

-- name: BUsByIDs :many
WITH RECURSIVE t AS (
    SELECT bu.id, bu.parent_id, bu.name, bu.code, 0::int AS depth, bu.created_at, bu.active FROM bu WHERE bu.parent_id IS NULL
    UNION ALL
    SELECT b.id, b.parent_id, b.name, b.code, t.depth + 1, b.created_at, b.active FROM bu b JOIN t ON b.parent_id = t.id
)
SELECT t.id, t.parent_id, t.name, t.code, t.depth, t.created_at, t.active FROM t WHERE t.id = ANY(@ids::bigint[]);

-- name: BUByCode :one
WITH RECURSIVE t AS (
    SELECT bu.id, bu.parent_id, bu.name, bu.code, 0::int AS depth, bu.created_at, bu.active FROM bu WHERE bu.parent_id IS NULL
    UNION ALL
    SELECT b.id, b.parent_id, b.name, b.code, t.depth + 1, b.created_at, b.active FROM bu b JOIN t ON b.parent_id = t.id
)
SELECT t.id, t.parent_id, t.name, t.code, t.depth, t.created_at, t.active FROM t WHERE t.code = @code::text;

-- name: BUChildren :many
WITH RECURSIVE t AS (
    SELECT bu.id, bu.parent_id, bu.name, bu.code, 0::int AS depth, bu.created_at, bu.active FROM bu WHERE bu.parent_id IS NULL
    UNION ALL
    SELECT b.id, b.parent_id, b.name, b.code, t.depth + 1, b.created_at, b.active FROM bu b JOIN t ON b.parent_id = t.id
)
SELECT t.id, t.parent_id, t.name, t.code, t.depth, t.created_at, t.active FROM t WHERE t.parent_id = ANY(@parents::bigint[])
ORDER BY t.name;

-- name: BUCodes :many
SELECT id, code FROM bu WHERE id = ANY(@ids::bigint[]);

-- name: PeopleByIDs :many
SELECT * FROM person WHERE id = ANY(@ids::bigint[]);

-- name: PersonByLogin :one
SELECT * FROM person WHERE login = @login;
