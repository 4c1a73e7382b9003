-- Writes of the administration API and the inventory import (migration 0017):
-- BUs, people, clusters and hosts created, changed and retired by people.

-- name: BUInsert :one
INSERT INTO bu (parent_id, name, code) VALUES (@parent_id, @name, @code) RETURNING id;

-- name: BUUpdate :exec
UPDATE bu SET parent_id = @parent_id, name = @name, code = @code, active = @active WHERE id = @id;

-- name: BUForUpdate :one
SELECT id, parent_id, name, code, active FROM bu WHERE id = @id FOR UPDATE;

-- BUAncestors walks up from a BU to its root, the BU itself first; it stops at a
-- cycle (which the API never creates) rather than looping.
-- name: BUAncestors :many
WITH RECURSIVE t AS (
    SELECT bu.id, bu.parent_id, bu.code, 0 AS n FROM bu WHERE bu.id = @id
    UNION
    SELECT b.id, b.parent_id, b.code, t.n + 1 FROM bu b JOIN t ON b.id = t.parent_id WHERE t.n < 1000
)
SELECT t.id, t.code FROM t ORDER BY t.n;

-- BUDependents counts what keeps a BU from being deactivated.
-- name: BUDependents :one
SELECT
    (SELECT count(*) FROM bu b WHERE b.parent_id = @id AND b.active)::bigint AS bus,
    (SELECT count(*) FROM person p WHERE p.bu_id = @id AND p.active)::bigint AS people,
    (SELECT count(*) FROM cluster c WHERE c.owner_bu_id = @id AND c.status <> 'RETIRED')::bigint AS clusters;

-- name: BUsAll :many
SELECT id, parent_id, name, code, active FROM bu ORDER BY id;

-- name: PersonInsert :one
INSERT INTO person (login, name, email, bu_id, role) VALUES (@login, @name, @email, @bu_id, @role)
RETURNING *;

-- name: PersonUpdate :one
UPDATE person SET name = @name, email = @email, bu_id = @bu_id, role = @role, active = @active WHERE id = @id
RETURNING *;

-- name: PersonForUpdate :one
SELECT * FROM person WHERE id = @id FOR UPDATE;

-- name: PeopleAll :many
SELECT * FROM person ORDER BY id;

-- ActiveAdmins counts the active ADMIN people, locking them, so two concurrent
-- deactivations cannot both see another admin left.
-- name: ActiveAdminsLock :many
SELECT id FROM person WHERE role = 'ADMIN' AND active ORDER BY id FOR UPDATE;

-- name: ClusterInsert :one
INSERT INTO cluster (name, region, kind, owner_bu_id, stack_version_id, description)
VALUES (@name, @region, @kind, @owner_bu_id, @stack_version_id, @description)
RETURNING *;

-- name: ClusterUpdate :one
UPDATE cluster SET name = @name, region = @region, kind = @kind, owner_bu_id = @owner_bu_id,
    stack_version_id = @stack_version_id, description = @description, status = @status
WHERE id = @id
RETURNING *;

-- name: ClusterForUpdate :one
SELECT * FROM cluster WHERE id = @id FOR UPDATE;

-- name: ClusterLiveHosts :one
SELECT count(*) FROM host WHERE cluster_id = @id AND state <> 'DECOMMISSIONED';

-- name: StackVersionExists :one
SELECT count(*) FROM stack_version WHERE id = @id;

-- StackVersionsAll names each stack version "STACK VERSION", as the inventory
-- file refers to them.
-- name: StackVersionsAll :many
SELECT v.id, (s.name || ' ' || v.version)::text AS label FROM stack_version v JOIN stack s ON s.id = v.stack_id ORDER BY v.id;

-- name: HostsByNames :many
SELECT * FROM host WHERE hostname = ANY(@hostnames::text[]);

-- name: HostsForUpdate :many
SELECT * FROM host WHERE id = ANY(@ids::bigint[]) ORDER BY id FOR UPDATE;

-- name: HostInsert :one
INSERT INTO host (cluster_id, hostname, rack, ip, cpu_cores, memory_bytes, disk_bytes, nic_bps, os, kernel, model)
VALUES (@cluster_id, @hostname, @rack, @ip, @cpu_cores, @memory_bytes, @disk_bytes, @nic_bps, @os, @kernel, @model)
RETURNING *;

-- name: HostUpdateFacts :one
UPDATE host SET cluster_id = @cluster_id, rack = @rack, ip = @ip, cpu_cores = @cpu_cores, memory_bytes = @memory_bytes,
    disk_bytes = @disk_bytes, nic_bps = @nic_bps, os = @os, kernel = @kernel, model = @model
WHERE id = @id
RETURNING *;

-- name: HostsMove :many
UPDATE host SET cluster_id = @cluster_id WHERE id = ANY(@ids::bigint[]) RETURNING *;

-- HostsDecommission retires hosts and announces each change on the host state
-- channel in the same statement, as SetHostState does.
-- name: HostsDecommission :many
WITH changed AS (
    UPDATE host SET state = 'DECOMMISSIONED', state_reason = @reason
    WHERE id = ANY(@ids::bigint[]) AND state <> 'DECOMMISSIONED'
    RETURNING host.id
)
SELECT changed.id, pg_notify(@channel::text, changed.id::text)::text AS notified FROM changed;

-- HostsLiveNotIn lists the hosts, not yet decommissioned, whose hostname the
-- inventory file does not list (what --prune decommissions): an anti-join, so a
-- fleet-sized file against a fleet-sized table stays linear.
-- name: HostsLiveNotIn :many
SELECT h.id, h.hostname, c.name AS cluster FROM host h JOIN cluster c ON c.id = h.cluster_id
WHERE h.state <> 'DECOMMISSIONED'
    AND NOT EXISTS (SELECT 1 FROM unnest(@hostnames::text[]) AS u (hostname) WHERE u.hostname = h.hostname)
ORDER BY h.hostname;

-- name: BUIDByCode :one
SELECT id FROM bu WHERE code = @code;

-- name: PersonByLoginForUpdate :one
SELECT * FROM person WHERE login = @login FOR UPDATE;

-- name: AdminLogins :many
SELECT login FROM person WHERE role = 'ADMIN' AND active ORDER BY login;

-- HostsInsertMany registers many hosts in one statement (arrays of equal
-- length, zipped by unnesting each in one select list).
-- name: HostsInsertMany :execrows
INSERT INTO host (cluster_id, hostname, rack, ip, cpu_cores, memory_bytes, disk_bytes, nic_bps, os, kernel, model)
SELECT unnest(@cluster_ids::bigint[]), unnest(@hostnames::text[]), unnest(@racks::text[]), unnest(@ips::text[]),
    unnest(@cores::int[]), unnest(@memory::bigint[]), unnest(@disk::bigint[]), unnest(@nic::bigint[]),
    unnest(@oses::text[]), unnest(@kernels::text[]), unnest(@models::text[]);
