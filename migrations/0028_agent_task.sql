-- 0028 agent_task: the tasks dispatched to hosts' agents (owned and written by
-- internal/agentapi only; docs/agent.md, "Tasks").
--
-- One row per task the operation engine asks a host's agent to carry out
-- (deploy a package version, start, stop, restart, configure, check). The
-- engine dispatches with an idempotency key ("<operation task id>/<attempt>"),
-- so a dispatch repeated after a crash finds the row instead of queueing the
-- work twice. An agent claims its host's QUEUED tasks (FOR UPDATE SKIP
-- LOCKED), reports steps while it works (each report extends the lease) and
-- a final SUCCEEDED or FAILED. A claimed task whose agent stops reporting past
-- its lease, or any unfinished task past its deadline, becomes EXPIRED: it is
-- never given to an agent again; the engine decides whether to retry (with a
-- new key, i.e. a new row).
--
-- Growth: one row per host task of an operation: a rolling upgrade of the
-- largest cluster (20,000 hosts) × a few attempts adds tens of thousands of
-- rows; a busy fleet (250,000 hosts) a few hundred thousand a day at most.
-- Rows are bounded in width: steps at most 50 entries of 2 KB output each,
-- output 8 KB (both truncated with a marker by the writer). Retention: the task
-- queue's sweep (agentapi.Tasks.Run) deletes tasks finished over 90 days ago
-- through agent_task_finished_idx, in batches; nothing refers to them but the
-- engine's own operation_task, which keeps its copy of the result.
CREATE TABLE agent_task (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id             bigint NOT NULL REFERENCES host (id),
    idempotency_key     text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    action              text NOT NULL CHECK (action IN ('DEPLOY', 'START', 'STOP', 'RESTART', 'CHECK', 'CONFIGURE')),
    -- spec is agenttask.Spec as JSON (typed and validated in Go).
    spec                jsonb NOT NULL,
    state               text NOT NULL DEFAULT 'QUEUED'
                        CHECK (state IN ('QUEUED', 'CLAIMED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'EXPIRED')),
    -- steps is the agent's last list of steps ([{name, state, output, ...}]).
    steps               jsonb NOT NULL DEFAULT '[]',
    output              text NOT NULL DEFAULT '',
    error               text NOT NULL DEFAULT '',
    -- lease_seconds is how long a claimed task lives without a report.
    lease_seconds       integer NOT NULL CHECK (lease_seconds > 0),
    -- deadline ends the task whatever its state (unclaimed, or running too long).
    deadline            timestamptz NOT NULL,
    lease_until         timestamptz,
    claimed_at          timestamptz,
    cancel_requested_at timestamptz,
    finished_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT agent_task_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT agent_task_finished_check CHECK ((finished_at IS NOT NULL) = (state IN ('SUCCEEDED', 'FAILED', 'EXPIRED')))
);
-- A host's tasks, newest first (its history, and the foreign key's index).
CREATE INDEX agent_task_host_idx ON agent_task (host_id, id DESC);
-- A host's queued tasks, oldest first: what an agent's poll claims.
CREATE INDEX agent_task_queued_idx ON agent_task (host_id, id) WHERE state = 'QUEUED';
-- Unfinished tasks by deadline and by lease: what the expiry sweep finds.
CREATE INDEX agent_task_deadline_idx ON agent_task (deadline) WHERE state IN ('QUEUED', 'CLAIMED', 'RUNNING');
CREATE INDEX agent_task_lease_idx ON agent_task (lease_until) WHERE state IN ('CLAIMED', 'RUNNING');
-- Finished tasks by age: retention.
CREATE INDEX agent_task_finished_idx ON agent_task (finished_at) WHERE finished_at IS NOT NULL;
