-- 0023 leaderboards: the red (best) and black (worst) lists of jobs, people
-- and BUs per metric and calendar period, computed by the `leaderboards` job
-- (internal/leaderboard, docs/leaderboards.md) so that a list or a subject's
-- standing is an index read, never a pass over usage or bills.
--
-- Both lists are views of one ranking: leaderboard_entry holds the full
-- ranking of a (level, metric, unit, start) with rank 1 the best; the red list
-- reads it from the front of the key, the black list from its back. A period
-- is replaced whole in one transaction, its leaderboard_period row with it.
--
-- leaderboard_job_day is the period computations' input: what each job used,
-- was billed and finished on a day, read once from job_usage_1h, bill_line and
-- job_run, so a month is ranked from 30 days of one narrow row per job instead
-- of re-reading a month of usage hours, bill lines and runs every hour.
--
-- Owned by internal/leaderboard. Growth: up to one row per ranked job and
-- metric a day (5 × the jobs above the minimum volume); retention (the job
-- deletes old periods): days 90, weeks 2 years, months kept.

-- One computed ranking: when, over how many subjects, its median and the
-- least volume a subject needed.
CREATE TABLE leaderboard_period (
    level         text NOT NULL CHECK (level IN ('JOB', 'PERSON', 'BU')),
    metric        text NOT NULL CHECK (metric IN ('EFFICIENCY', 'COST_PER_UNIT', 'FAILURE_RATE', 'FINDINGS', 'HEALTH')),
    unit          text NOT NULL CHECK (unit IN ('DAY', 'WEEK', 'MONTH')),
    start         date NOT NULL,
    period_end    date NOT NULL,
    computed_at   timestamptz NOT NULL,
    ranked_count  integer NOT NULL,
    median        double precision,
    min_volume    double precision NOT NULL,
    PRIMARY KEY (level, metric, unit, start)
);

-- One ranked subject (a job, person or BU id by level). previous_rank is its
-- rank from the best in the previous period of the same unit and
-- previous_count that period's ranked count, so the black list's movement
-- needs no second read. improve_job_id is the job whose findings say what to
-- do: the job itself, or a person's or BU's worst job on the metric.
CREATE TABLE leaderboard_entry (
    level           text NOT NULL,
    metric          text NOT NULL,
    unit            text NOT NULL,
    start           date NOT NULL,
    rank            integer NOT NULL,
    subject_id      bigint NOT NULL,
    value           double precision NOT NULL,
    volume          double precision NOT NULL,
    previous_rank   integer,
    previous_count  integer,
    improve_job_id  bigint,
    PRIMARY KEY (level, metric, unit, start, rank)
);
-- A subject's standing and the previous period's rank: a seek per metric.
CREATE INDEX leaderboard_entry_subject_idx ON leaderboard_entry (level, unit, subject_id, metric, start);

-- One job's day: usage (core-hours and GB-hours, requested and used), bill
-- (its CPU and MEMORY lines' amounts and quantities, and all its lines'
-- amount), and runs that ended that day. Kept 62 days (the current and the
-- previous month); an older period recomputed rolls its days up again.
CREATE TABLE leaderboard_job_day (
    day          date NOT NULL,
    job_id       bigint NOT NULL,
    used_core_h  double precision NOT NULL,
    req_core_h   double precision NOT NULL,
    used_gb_h    double precision NOT NULL,
    req_gb_h     double precision NOT NULL,
    cpu_amount   double precision,
    cpu_qty      double precision,
    mem_amount   double precision,
    mem_qty      double precision,
    cost         double precision,
    finished     integer NOT NULL,
    failed       integer NOT NULL,
    PRIMARY KEY (day, job_id)
);

-- Which days leaderboard_job_day holds, and when they were rolled up: a day
-- rolled up before the end of the day after it (billing re-bills yesterday)
-- is rolled up again.
CREATE TABLE leaderboard_day (
    day        date PRIMARY KEY,
    rolled_at  timestamptz NOT NULL,
    jobs       integer NOT NULL
);
