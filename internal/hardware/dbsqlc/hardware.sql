-- name: FaultsInsert :many
-- Stores faults, each at most once per (host, source, source_ref); a new fault
-- of a host with an unfinished ticket joins that ticket and takes its state.
-- Returns the rows stored (duplicates are absent).
INSERT INTO hardware_fault (host_id, component, kind, severity, detected_at, source, source_ref, detail, reported_by, ticket_id, status)
SELECT u.host_id, u.component, u.kind, u.severity, u.detected_at, u.source, nullif(u.source_ref, ''), u.detail,
       sqlc.narg(reported_by)::bigint, t.id, coalesce(t.state, 'OPEN')
FROM (
    SELECT unnest(@host_ids::bigint[]) AS host_id, unnest(@components::text[]) AS component, unnest(@kinds::text[]) AS kind,
        unnest(@severities::text[]) AS severity, unnest(@detected::timestamptz[]) AS detected_at,
        unnest(@sources::text[]) AS source, unnest(@source_refs::text[]) AS source_ref, unnest(@details::text[]) AS detail
) AS u
LEFT JOIN repair_ticket t ON t.host_id = u.host_id AND t.state IN ('OPEN', 'IN_REPAIR')
ON CONFLICT ON CONSTRAINT hardware_fault_source_ref_key DO NOTHING
RETURNING *;

-- name: FaultsByIDs :many
SELECT * FROM hardware_fault WHERE id = ANY(@ids::bigint[]);

-- name: FaultsOfHosts :many
-- The newest faults of each host, at most max per host.
SELECT f.* FROM unnest(@host_ids::bigint[]) AS u (host_id)
CROSS JOIN LATERAL (
    SELECT * FROM hardware_fault WHERE host_id = u.host_id
    ORDER BY detected_at DESC, id DESC LIMIT sqlc.arg(max)::int
) f;

-- name: FaultsOfTickets :many
SELECT * FROM hardware_fault WHERE ticket_id = ANY(@ticket_ids::bigint[]) ORDER BY detected_at DESC, id DESC;

-- name: TicketInsert :one
INSERT INTO repair_ticket (host_id, opened_by, assignee_id, origin, opened_at, updated_at)
VALUES (@host_id, sqlc.narg(opened_by), sqlc.narg(assignee_id), @origin, @at, @at)
RETURNING *;

-- name: TicketForUpdate :one
SELECT * FROM repair_ticket WHERE id = @id FOR UPDATE;

-- name: TicketOpenOfHost :one
SELECT * FROM repair_ticket WHERE host_id = @host_id AND state IN ('OPEN', 'IN_REPAIR');

-- name: TicketSetState :one
UPDATE repair_ticket SET state = @state, updated_at = @at,
    closed_at = CASE WHEN @state IN ('RESOLVED', 'REPLACED') THEN @at::timestamptz END,
    assignee_id = coalesce(sqlc.narg(assignee_id), assignee_id),
    host_state_before = CASE WHEN @host_state_before::text <> '' THEN @host_state_before ELSE host_state_before END
WHERE id = @id
RETURNING *;

-- name: TicketAttachFaults :execrows
-- Attaches faults of the ticket's host that have no ticket yet: all of them,
-- or those listed.
UPDATE hardware_fault SET ticket_id = @ticket_id, status = @state
WHERE host_id = @host_id AND ticket_id IS NULL AND status = 'OPEN'
  AND (cardinality(@fault_ids::bigint[]) = 0 OR id = ANY(@fault_ids::bigint[]));

-- name: TicketFaultsSetStatus :exec
UPDATE hardware_fault SET status = @state WHERE ticket_id = @ticket_id;

-- name: TicketEventInsert :exec
INSERT INTO repair_ticket_event (ticket_id, at, person_id, actor, from_state, to_state, note)
VALUES (@ticket_id, @at, sqlc.narg(person_id), @actor, @from_state, @to_state, @note);

-- name: TicketsByIDs :many
SELECT * FROM repair_ticket WHERE id = ANY(@ids::bigint[]);

-- name: TicketEventsOf :many
SELECT * FROM repair_ticket_event WHERE ticket_id = ANY(@ticket_ids::bigint[]) ORDER BY ticket_id, id;

-- name: TicketRepairStartedAt :one
-- When the ticket last went IN_REPAIR.
SELECT coalesce(max(at), '-infinity'::timestamptz)::timestamptz FROM repair_ticket_event
WHERE ticket_id = @ticket_id AND to_state = 'IN_REPAIR';

-- name: FaultsOfHostSince :one
-- How many faults a host reported after a time (the check before a repaired
-- host returns to service).
SELECT count(*) FROM hardware_fault WHERE host_id = @host_id AND detected_at > @since;

-- name: LifecycleUpsert :one
INSERT INTO host_lifecycle (host_id, in_service_at, tracked_since, tracked_until, warranty_end, generation, source, updated_at)
VALUES (@host_id, sqlc.narg(in_service_at), @tracked_since, sqlc.narg(tracked_until), sqlc.narg(warranty_end), @generation, @source, now())
ON CONFLICT (host_id) DO UPDATE SET in_service_at = EXCLUDED.in_service_at, tracked_since = EXCLUDED.tracked_since,
    tracked_until = EXCLUDED.tracked_until, warranty_end = EXCLUDED.warranty_end, generation = EXCLUDED.generation,
    source = EXCLUDED.source, updated_at = now()
RETURNING *;

-- name: LifecyclesImport :execrows
-- Records lifecycles from an importer or the demo seed; rows already equal
-- are left alone, so a re-import changes nothing. In the time arrays the zero
-- time (0001-01-01) stands for unknown (NULL), which a Go time cannot be.
INSERT INTO host_lifecycle AS l (host_id, in_service_at, tracked_since, tracked_until, warranty_end, generation, source)
SELECT u.host_id, nullif(u.in_service_at, '0001-01-01T00:00:00Z'), u.tracked_since,
    nullif(u.tracked_until, '0001-01-01T00:00:00Z'), u.warranty_end, u.generation, @source
FROM (
    SELECT unnest(@host_ids::bigint[]) AS host_id, unnest(@in_service::timestamptz[]) AS in_service_at,
        unnest(@tracked_since::timestamptz[]) AS tracked_since, unnest(@tracked_until::timestamptz[]) AS tracked_until,
        unnest(@warranty_end::date[]) AS warranty_end, unnest(@generations::text[]) AS generation
) AS u
ON CONFLICT (host_id) DO UPDATE SET in_service_at = EXCLUDED.in_service_at, tracked_since = EXCLUDED.tracked_since,
    tracked_until = EXCLUDED.tracked_until, warranty_end = EXCLUDED.warranty_end, generation = EXCLUDED.generation,
    source = EXCLUDED.source, updated_at = now()
WHERE (l.in_service_at, l.tracked_since, l.tracked_until, l.warranty_end, l.generation, l.source)
    IS DISTINCT FROM (EXCLUDED.in_service_at, EXCLUDED.tracked_since, EXCLUDED.tracked_until, EXCLUDED.warranty_end, EXCLUDED.generation, EXCLUDED.source);

-- name: LifecyclesOf :many
SELECT * FROM host_lifecycle WHERE host_id = ANY(@host_ids::bigint[]);

-- name: HostIDsByName :many
SELECT id, hostname, cluster_id, state FROM host WHERE hostname = ANY(@hostnames::text[]);

-- name: HostForFault :one
SELECT id, hostname, cluster_id, state, model FROM host WHERE id = @id;
