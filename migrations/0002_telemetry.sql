-- 0002 telemetry: what ingestion and the scheduler need beyond raw samples. Scrape
-- targets keep node_exporter polling state (back-off, last counters for rates) apart
-- from the host row, so scraping never contends with inventory updates; scheduler
-- runs record every analytics job run (which replica, how long, rows, error).

CREATE TABLE scrape_target (
    host_id          bigint PRIMARY KEY REFERENCES host (id),
    url              text NOT NULL,
    status           text NOT NULL DEFAULT 'PENDING'
                     CHECK (status IN ('PENDING', 'UP', 'FAILING')),
    failures         integer NOT NULL DEFAULT 0,
    last_attempt_at  timestamptz,
    last_success_at  timestamptz,
    last_error       text NOT NULL DEFAULT '',
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    -- the previous scrape's counters, from which the next scrape computes rates
    counters         jsonb,
    counters_at      timestamptz
);
CREATE INDEX scrape_target_due_idx ON scrape_target (next_attempt_at);

CREATE TABLE scheduler_run (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job          text NOT NULL,
    replica      text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    rows         bigint NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT '',
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX scheduler_run_job_idx ON scheduler_run (job, started_at DESC);

-- Minutes whose samples changed since the watermark rollup last ran. Every writer of
-- host_metric marks the minutes it touched, so the rollup is incremental (only new
-- or corrected time) and late samples correct the levels they belong to.
CREATE TABLE rollup_dirty (
    minute  timestamptz PRIMARY KEY
);

-- When a host last changed state, kept by a trigger so every writer (operators,
-- heartbeats, self-healing, the demo ticker) records it the same way.
ALTER TABLE host ADD COLUMN state_changed_at timestamptz NOT NULL DEFAULT now();

CREATE FUNCTION host_state_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state THEN
        NEW.state_changed_at := now();
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER host_state_changed BEFORE UPDATE OF state ON host
    FOR EACH ROW EXECUTE FUNCTION host_state_changed();

CREATE INDEX host_state_changed_idx ON host (state_changed_at DESC) WHERE state <> 'ONLINE';
