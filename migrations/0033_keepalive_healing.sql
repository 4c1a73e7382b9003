-- 0033 keep-alive and self-healing (docs/healing.md).
--
-- Keep-alive restarts components the agents report stopped while they should
-- run, within a retry budget per component and time window; past the budget it
-- raises one alert instead of looping. Self-healing takes sick hosts (missed
-- heartbeats, open hardware faults, failed health checks, severe anomalies)
-- through SELF_HEAL operations within each cluster's healing budget, and hands
-- hosts it cannot heal to people through a hardware repair ticket.
--
-- Owners: internal/keepalive writes component_restart and keepalive_alert;
-- internal/healing writes healing_attempt, healing_wait and
-- cluster_healing_policy. The repair_ticket
-- origin 'system' (tickets the platform opened on its own) is written by
-- internal/hardware, which owns the table.
--
-- Growth: component_restart one row per restart (a few per day per flapping
-- component, bounded by the budget: at most budget × components-in-trouble per
-- window; keep-alive deletes rows older than 30 days); keepalive_alert one row
-- per exhausted budget (at most one open per component; resolved ones kept 30
-- days);
-- healing_attempt one row per host healing attempt (bounded by the clusters'
-- daily healing budgets: a few hundred a day fleet-wide at most, kept as
-- history for the healing rate); healing_wait at most one row per sick host,
-- rewritten by each pass.

-- Every restart keep-alive asked for: which component, when, why, and what came
-- of it (SUCCEEDED: the restarter reports the component running again;
-- DISPATCHED: handed to the host's agent, whose next heartbeat reports the
-- state; FAILED: the restart could not be carried out).
CREATE TABLE component_restart (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id     bigint NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    service     text NOT NULL,
    component   text NOT NULL,
    at          timestamptz NOT NULL,
    -- The state the component was found in and the budget spent, in words:
    -- "NODEMANAGER was FAILED (desired STARTED): restart 2 of 3 in 1h0m0s".
    reason      text NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('SUCCEEDED', 'DISPATCHED', 'FAILED')),
    detail      text NOT NULL DEFAULT ''
);
-- The budget: a component's restarts in the window, newest first; also a
-- host's restarts for its page (host_id prefix).
CREATE INDEX component_restart_component_idx ON component_restart (host_id, service, component, at DESC);
CREATE INDEX component_restart_at_idx ON component_restart (at);

-- A component keep-alive gave up on: its budget ran out while it still did not
-- run. At most one open alert per component, so a component that keeps
-- flapping raises one alert, not one per pass; it resolves once the component
-- is seen running (or is no longer desired STARTED).
CREATE TABLE keepalive_alert (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id         bigint NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    cluster_id      bigint NOT NULL,
    service         text NOT NULL,
    component       text NOT NULL,
    raised_at       timestamptz NOT NULL,
    restarts        integer NOT NULL,
    window_seconds  integer NOT NULL,
    message         text NOT NULL,
    resolved_at     timestamptz
);
CREATE UNIQUE INDEX keepalive_alert_open_key ON keepalive_alert (host_id, service, component) WHERE resolved_at IS NULL;
CREATE INDEX keepalive_alert_host_idx ON keepalive_alert (host_id, raised_at DESC);
CREATE INDEX keepalive_alert_raised_idx ON keepalive_alert (raised_at DESC, id DESC);

-- One attempt to heal one host: the signals that made it sick, how it is
-- repaired (RESTART_SERVICES and REBOOT through a SELF_HEAL operation, TICKET
-- straight to a person), and how it ended. HEALING → HEALED | FAILED; a host
-- handed to a person is HANDED_OVER with its repair ticket.
CREATE TABLE healing_attempt (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id       bigint NOT NULL REFERENCES host (id) ON DELETE CASCADE,
    cluster_id    bigint NOT NULL,
    signals       text[] NOT NULL,
    detail        text NOT NULL DEFAULT '',
    repair        text NOT NULL CHECK (repair IN ('RESTART_SERVICES', 'REBOOT', 'TICKET')),
    state         text NOT NULL CHECK (state IN ('HEALING', 'HEALED', 'FAILED', 'HANDED_OVER')),
    operation_id  bigint,
    ticket_id     bigint,
    -- Why this repair, and for an ended attempt why it ended so.
    reason        text NOT NULL,
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    CHECK ((state = 'HEALING') = (ended_at IS NULL))
);
CREATE INDEX healing_attempt_healing_idx ON healing_attempt (cluster_id) WHERE state = 'HEALING';
CREATE INDEX healing_attempt_host_idx ON healing_attempt (host_id, started_at DESC);
CREATE INDEX healing_attempt_cluster_idx ON healing_attempt (cluster_id, started_at DESC);
CREATE INDEX healing_attempt_started_idx ON healing_attempt (started_at DESC, id DESC);

-- Sick hosts the last pass did not start healing, with why they wait (the
-- cluster's budget, its minimum capacity, an operation holding it). Rewritten
-- by every pass: a host no longer sick, or healing, has no row.
CREATE TABLE healing_wait (
    host_id     bigint PRIMARY KEY REFERENCES host (id) ON DELETE CASCADE,
    cluster_id  bigint NOT NULL,
    signals     text[] NOT NULL,
    reason      text NOT NULL,
    since       timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX healing_wait_cluster_idx ON healing_wait (cluster_id, host_id);

-- A cluster's own healing budget, over its kind's defaults (healing.Config):
-- NULL columns keep the default. enabled = false turns healing off for the
-- cluster (its sick hosts wait, saying so). At most one row per cluster.
CREATE TABLE cluster_healing_policy (
    cluster_id       bigint PRIMARY KEY REFERENCES cluster (id),
    enabled          boolean NOT NULL DEFAULT true,
    max_at_once      integer CHECK (max_at_once BETWEEN 1 AND 1000),
    max_at_once_pct  integer CHECK (max_at_once_pct BETWEEN 1 AND 100),
    max_per_day      integer CHECK (max_per_day BETWEEN 0 AND 100000),
    allow_reboot     boolean,
    updated_by       text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE repair_ticket DROP CONSTRAINT repair_ticket_origin_check;
ALTER TABLE repair_ticket ADD CONSTRAINT repair_ticket_origin_check CHECK (origin IN ('person', 'api', 'sim', 'system'));
