-- 0029 leaderboards: a job ranking is kept whole as one array per period and
-- metric instead of one row per job, and the days say when their rollup changed (internal/leaderboard, docs/leaderboards.md).
--
-- A month of the fleet benchmark ranks ~90,000 jobs on five metrics; writing
-- them as leaderboard_entry rows (two index entries each) every hour was most
-- of the job's time. Only the ends of a job list are ever read (a list shows at
-- most 100 entries from either end; jobs have no standing), so
-- leaderboard_entry keeps the first and last 100 jobs, and `ranking` holds the
-- job ids in rank order (1 first) for the next period's movement. People and
-- BUs keep every entry (their standing is read by subject). NULL: a period
-- computed before this migration, or a person or BU level row.
ALTER TABLE leaderboard_period ADD COLUMN ranking bigint[];

-- When a day's rolled-up rows last changed (the database's clock): the hourly
-- pass recomputes a period only when one of its days changed since it was
-- computed, or its findings and health are older than the refresh interval.
-- NULL: not known (rolled up before this migration), taken as changed.
ALTER TABLE leaderboard_day ADD COLUMN changed_at timestamptz;
