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
