-- 0013 the workload API: indexes for the jobs listing's filters and orders,
-- a run listing that pages by start time with never-started runs first, the
-- per-BU limit on P0 jobs that setJobPriority enforces, and a time index on
-- queue snapshots for the QUEUE_SLOTS water level (docs/workload.md).

-- Jobs listing: each filter alone pages through a (filter, id) index; the
-- owner, BU, cluster and queue ones exist since 0008. NAME and PRIORITY
-- orderings read these in key order when unfiltered.
CREATE INDEX job_kind_idx ON job (kind, id);
CREATE INDEX job_priority_idx ON job (priority, id);
CREATE INDEX job_name_idx ON job (name, id);

-- A job's runs newest first where a run not started yet (started_at NULL,
-- e.g. only an OTHER event seen) counts as the newest: a keyset key must not
-- be NULL, so the listing orders by this expression and this index serves it.
CREATE INDEX job_run_job_started_key_idx
    ON job_run (job_id, (coalesce(started_at, 'infinity'::timestamptz)) DESC, id DESC);

-- Queue snapshots by time: the water-level rollup reads the snapshots of the
-- minutes it re-derives across every queue.
CREATE INDEX queue_usage_ts_idx ON queue_usage (ts);

-- How many P0 jobs a BU may have (the jobs whose effective BU it is). A BU
-- without a row takes the platform default (workload.Config.DefaultMaxP0Jobs).
CREATE TABLE job_priority_policy (
    bu_id        bigint PRIMARY KEY REFERENCES bu (id),
    max_p0_jobs  integer NOT NULL CHECK (max_p0_jobs >= 0),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
