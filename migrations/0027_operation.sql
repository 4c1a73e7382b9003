-- Operations (Aquila): durable, planned cluster operations — UPGRADE, SCALE_OUT,
-- DECOMMISSION, RESTART, CONFIG_APPLY, SELF_HEAL — as ordered stages of host-level
-- tasks, executed by River jobs on this database (internal/aquila, docs/aquila.md).
--
-- Owner: internal/aquila writes all four tables; nothing else does.
-- Growth: one operation row per operator request (tens a day); operation_task has
-- one row per host per stage (a RESTART of a 20,000-host cluster with two services
-- is 40,000 rows), operation_event a few rows per stage plus one per failed task.
-- Retention: finished operations are history for the UI and the audit; keep them
-- (a future job may delete operations finished more than a year ago, with their
-- stages, tasks and events, which cascade).

CREATE TABLE operation (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind               text NOT NULL CHECK (kind IN ('UPGRADE', 'SCALE_OUT', 'DECOMMISSION', 'RESTART', 'CONFIG_APPLY', 'SELF_HEAL')),
    cluster_id         bigint NOT NULL REFERENCES cluster (id),
    state              text NOT NULL DEFAULT 'PENDING'
                       CHECK (state IN ('PENDING', 'RUNNING', 'PAUSED', 'SUCCEEDED', 'FAILED', 'ABORTED', 'ROLLED_BACK')),
    -- params is the kind's typed parameters (aquila.RestartParams…) as JSON.
    params             jsonb NOT NULL DEFAULT '{}',
    requested_by       text NOT NULL,
    reason             text NOT NULL DEFAULT '',
    -- failure_budget: the operation pauses when more than this many hosts failed.
    failure_budget     integer NOT NULL DEFAULT 0 CHECK (failure_budget >= 0),
    -- max_out_of_service_pct: no stage may take more of the cluster's hosts.
    max_out_of_service_pct integer NOT NULL DEFAULT 10 CHECK (max_out_of_service_pct BETWEEN 1 AND 100),
    -- current_stage is the position of the stage being worked (0 before start).
    current_stage      integer NOT NULL DEFAULT 0,
    -- rolling_back is set when rollbackOperation appended the inverse stages.
    rolling_back       boolean NOT NULL DEFAULT false,
    tasks_total        integer NOT NULL DEFAULT 0,
    tasks_succeeded    integer NOT NULL DEFAULT 0,
    tasks_failed       integer NOT NULL DEFAULT 0,
    tasks_skipped      integer NOT NULL DEFAULT 0,
    error              text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    ended_at           timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- A cluster's operations, newest first (keyset on id).
CREATE INDEX operation_cluster_idx ON operation (cluster_id, id DESC);
-- At most one disruptive operation per cluster at a time: the engine maps a
-- violation to CONFLICT naming the operation that holds the cluster.
CREATE UNIQUE INDEX operation_one_active_per_cluster ON operation (cluster_id)
    WHERE state IN ('PENDING', 'RUNNING', 'PAUSED');

CREATE TABLE operation_stage (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id  bigint NOT NULL REFERENCES operation (id) ON DELETE CASCADE,
    position      integer NOT NULL CHECK (position >= 1),
    name          text NOT NULL,
    state         text NOT NULL DEFAULT 'PENDING'
                  CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'ABORTED')),
    rollback      boolean NOT NULL DEFAULT false,
    started_at    timestamptz,
    ended_at      timestamptz,
    CONSTRAINT operation_stage_position_key UNIQUE (operation_id, position)
);

CREATE TABLE operation_task (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id  bigint NOT NULL REFERENCES operation (id) ON DELETE CASCADE,
    stage_id      bigint NOT NULL REFERENCES operation_stage (id) ON DELETE CASCADE,
    host_id       bigint NOT NULL REFERENCES host (id),
    action        text NOT NULL,
    params        jsonb NOT NULL DEFAULT '{}',
    state         text NOT NULL DEFAULT 'PENDING'
                  CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'SKIPPED', 'ABORTED')),
    -- attempts counts executions started; the executor's idempotency key is
    -- (id, attempts), so a task recovered from a dead worker keeps its key.
    attempts      integer NOT NULL DEFAULT 0,
    -- claimed_by is the River job working the task while RUNNING; lease_until
    -- lets another worker adopt it when that job's process died.
    claimed_by    bigint,
    lease_until   timestamptz,
    -- output is bounded (8 KiB, truncated with a marker) by the engine.
    output        text NOT NULL DEFAULT '' CHECK (octet_length(output) <= 8192),
    started_at    timestamptz,
    ended_at      timestamptz
);
-- An operation's tasks by stage and state: claiming, counting, listing.
CREATE INDEX operation_task_stage_state_idx ON operation_task (stage_id, state, id);
CREATE INDEX operation_task_operation_idx ON operation_task (operation_id, state);

-- Append-only log of what happened, for the UI.
CREATE TABLE operation_event (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation_id  bigint NOT NULL REFERENCES operation (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    level         text NOT NULL CHECK (level IN ('INFO', 'WARN', 'ERROR')),
    message       text NOT NULL,
    task_id       bigint REFERENCES operation_task (id) ON DELETE CASCADE
);
-- An operation's events, newest first (keyset on id).
CREATE INDEX operation_event_operation_idx ON operation_event (operation_id, id DESC);
