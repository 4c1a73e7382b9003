-- name: HostsByIDs :many
SELECT * FROM host WHERE id = ANY(@ids::bigint[]);

-- name: HostByName :one
SELECT * FROM host WHERE hostname = @hostname;

-- name: HostStateForUpdate :one
SELECT state FROM host WHERE id = @id FOR UPDATE;

-- name: HostSetState :one
UPDATE host SET state = @state, state_reason = @reason WHERE id = @id
RETURNING *;

-- name: HostsRecentlyInStates :many
SELECT * FROM host WHERE state = ANY(@states::text[])
ORDER BY state_changed_at DESC, id DESC
LIMIT sqlc.arg(max)::int;

-- name: ComponentsByHost :many
SELECT * FROM host_component WHERE host_id = ANY(@hosts::bigint[])
ORDER BY host_id, service, component;

-- name: HostStateNotify :exec
SELECT pg_notify(@channel::text, @payload::text);
