-- 0011 yarn_target: the YARN ResourceManager each cluster is polled at, and the
-- poller's state (internal/ingest/yarn). One row per cluster. As in
-- scrape_target, all polling state lives here so any replica can poll any
-- cluster: a pass claims the due rows with FOR UPDATE SKIP LOCKED and leases
-- them through next_attempt_at.
--
-- finished_watermark is the latest finishedTime of the applications stored: the
-- next poll asks the ResourceManager for applications finished since then
-- (finishedTimeBegin, inclusive, so the boundary is read again and stored once).
CREATE TABLE yarn_target (
    cluster_id         bigint PRIMARY KEY REFERENCES cluster (id),
    url                text NOT NULL CHECK (url ~ '^https?://[^/]'),
    status             text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'UP', 'FAILING')),
    failures           integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    last_attempt_at    timestamptz,
    last_success_at    timestamptz,
    last_error         text NOT NULL DEFAULT '',
    finished_watermark timestamptz,
    -- The last /ws/v1/cluster/metrics answer, as the ResourceManager sent it.
    metrics            jsonb,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX yarn_target_due_idx ON yarn_target (next_attempt_at);
