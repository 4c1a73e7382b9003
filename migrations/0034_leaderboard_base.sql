-- 0034 leaderboards: the sums of a week's or month's final days per job, kept
-- so the hourly pass adds up the period's few open days to them instead of
-- every day of the period again (internal/leaderboard, docs/leaderboards.md).
--
-- A month of the fleet benchmark is 3,000,000 rolled-up job-days; its final
-- days (rolled up after the day after them ended: nothing changes them but an
-- operator's recomputation) change once a day, when a day becomes final.

-- Each rolled-up day's version: drawn from a sequence whenever the day's rows
-- change, so it only ever grows, and the sum over a range of days grows when
-- any of them changes. NULL (0 in sums): a day that has not changed since this
-- migration.
CREATE SEQUENCE leaderboard_day_version;
ALTER TABLE leaderboard_day ADD COLUMN version bigint;

-- A period's base: the per-job sums of its days [start, through), valid while
-- the sum of those days' versions is still version_sum.
CREATE TABLE leaderboard_base (
    unit        text NOT NULL CHECK (unit IN ('WEEK', 'MONTH')),
    start       date NOT NULL,
    through     date NOT NULL CHECK (through > start),
    version_sum numeric NOT NULL,
    built_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit, start)
);

CREATE TABLE leaderboard_job_base (
    unit        text NOT NULL,
    start       date NOT NULL,
    job_id      bigint NOT NULL,
    used_core_h double precision NOT NULL,
    req_core_h  double precision NOT NULL,
    used_gb_h   double precision NOT NULL,
    req_gb_h    double precision NOT NULL,
    cpu_amount  double precision,
    cpu_qty     double precision,
    mem_amount  double precision,
    mem_qty     double precision,
    cost        double precision,
    cost_volume double precision,
    finished    bigint NOT NULL,
    failed      bigint NOT NULL,
    PRIMARY KEY (unit, start, job_id),
    FOREIGN KEY (unit, start) REFERENCES leaderboard_base (unit, start) ON DELETE CASCADE
);
