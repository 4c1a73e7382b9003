-- 0030 operation upgrade: what rolling upgrades need from the operation engine
-- (internal/aquila, docs/aquila.md "Upgrades").
--
-- Owner: internal/aquila (operation_stage, operation). No new table; growth as in
-- 0027. pause_after lets a plan stop for an operator after a stage (an upgrade's
-- first rolling batch: look at the canaries before going on). The partial index
-- lets the engine count the platform's running upgrades (its concurrency limit)
-- without scanning finished operations.
ALTER TABLE operation_stage ADD COLUMN pause_after boolean NOT NULL DEFAULT false;

CREATE INDEX operation_active_kind_idx ON operation (kind, state)
    WHERE state IN ('PENDING', 'RUNNING', 'PAUSED');
