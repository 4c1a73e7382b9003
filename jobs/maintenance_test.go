package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/telemetry"
)

func partitions(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'host_metric'::regclass ORDER BY 1`)
	require.NoError(t, err)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return names
}

func TestPartitionsCreatesTodayAndThreeDaysAhead(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 5, 10, 23, 59, 0, 0, time.UTC)
	p, err := Find(Default(pool, DefaultConfig{Now: func() time.Time { return now }}), NamePartitions)
	require.NoError(t, err)
	res, err := p.RunOnce(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 4, res.Rows)
	require.Equal(t, "2026-05-13", res.Details["to"])
	require.Equal(t, []string{"host_metric_20260510", "host_metric_20260511", "host_metric_20260512", "host_metric_20260513"},
		partitions(t, pool))
	res, err = p.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Rows, "idempotent")
}

func TestRetentionDropsOldPartitionsAndLevels(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	_, err := telemetry.EnsurePartitions(ctx, pool, time.Date(2026, 4, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 11, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	// A partition made by hand, without a day in its name, is left alone.
	_, err = pool.Exec(ctx, `CREATE TABLE host_metric_manual PARTITION OF host_metric
		FOR VALUES FROM ('2020-01-01') TO ('2020-01-02')`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO host_metric (host_id, ts, cpu_pct) VALUES (1, '2026-04-21 10:00Z', 5), (1, '2026-05-01 10:00Z', 5)`)
	require.NoError(t, err)
	for _, table := range []string{"watermark_1m", "watermark_1h"} {
		_, err = pool.Exec(ctx, `INSERT INTO `+table+` (cluster_id, dimension, ts, used, capacity, hosts`+
			map[string]string{"watermark_1m": ")", "watermark_1h": ", utilization, peak, minutes)"}[table]+`
			SELECT 1, 'CPU', $1::timestamptz - d * interval '1 day', 1, 2, 1`+
			map[string]string{"watermark_1m": "", "watermark_1h": ", 0.5, 0.5, 60"}[table]+`
			FROM unnest('{29, 31, 399, 401}'::int[]) d`, now)
		require.NoError(t, err)
	}
	_, err = pool.Exec(ctx, `INSERT INTO watermark_1d (cluster_id, dimension, ts, used, capacity, hosts, utilization,
		peak, minutes, hours) SELECT 1, 'CPU', $1::timestamptz - d * interval '1 day', 1, 2, 1, 0.5, 0.5, 1440, 24
		FROM unnest('{399, 401}'::int[]) d`, now)
	require.NoError(t, err)
	// Hourly host sums go with the raw samples: hours before 2026-04-26 go.
	_, err = pool.Exec(ctx, `INSERT INTO host_metric_1h (host_id, hour, samples)
		VALUES (1, '2026-04-25 23:00Z', 1), (1, '2026-04-26 00:00Z', 1), (2, '2026-04-21 10:00Z', 1)`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO scheduler_run (job, replica, started_at) VALUES ('x', 'r', $1::timestamptz - interval '31 days'),
		('x', 'r', $1::timestamptz - interval '29 days')`, now)
	require.NoError(t, err)

	r, err := Find(Default(pool, DefaultConfig{Now: func() time.Time { return now }}), NameRetention)
	require.NoError(t, err)
	res, err := r.RunOnce(ctx)
	require.NoError(t, err)
	// 14 days kept: 2026-04-26 onwards; 04-20 … 04-25 go.
	require.Equal(t, []string{"host_metric_20260420", "host_metric_20260421", "host_metric_20260422",
		"host_metric_20260423", "host_metric_20260424", "host_metric_20260425"}, res.Details["partitions_dropped"])
	kept := partitions(t, pool)
	require.Equal(t, "host_metric_20260426", kept[0])
	require.Contains(t, kept, "host_metric_manual")
	require.Len(t, kept, 16+1)
	var samples int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM host_metric`).Scan(&samples))
	require.EqualValues(t, 1, samples)

	require.EqualValues(t, 3, res.Details["levels_1m"], "minutes older than 30 days")
	require.EqualValues(t, 1, res.Details["levels_1h"], "hours older than 400 days")
	require.EqualValues(t, 1, res.Details["levels_1d"])
	require.EqualValues(t, 1, res.Details["scheduler_runs"])
	require.EqualValues(t, 2, res.Details["host_hours"])
	require.EqualValues(t, 6+2+3+1+1+1, res.Rows)
	var hostHours []time.Time
	rows, err := pool.Query(ctx, `SELECT hour FROM host_metric_1h`)
	require.NoError(t, err)
	hostHours, err = pgx.CollectRows(rows, pgx.RowTo[time.Time])
	require.NoError(t, err)
	require.Len(t, hostHours, 1)
	require.True(t, hostHours[0].Equal(time.Date(2026, 4, 26, 0, 0, 0, 0, time.UTC)))
	var left int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM watermark_1m) + (SELECT count(*) FROM watermark_1h)
		+ (SELECT count(*) FROM watermark_1d) + (SELECT count(*) FROM scheduler_run)`).Scan(&left))
	require.EqualValues(t, 1+3+1+1, left)

	res, err = r.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Rows, "nothing left to expire")
}

// The standard set runs end to end on a small fleet, through the same path as
// `tesla jobs run`, and every run is recorded.
func TestDefaultJobsRun(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	fixture.New(t, pool) // marks its samples' minutes in rollup_dirty, like every writer
	var dirty int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM rollup_dirty`).Scan(&dirty))
	require.Positive(t, dirty)

	set := Default(pool, DefaultConfig{})
	var names []string
	for _, j := range set {
		names = append(names, j.Name())
		require.NotEmpty(t, j.Description())
		require.Positive(t, j.Timeout())
	}
	require.Equal(t, []string{NamePartitions, NameRetention, NameWatermarkRollup, NameWatermarkForecast, NameHostHours, NameMachineClustering, NameJobAnalysis, NameBilling, NameHostOffline, NameHardwareReliability, NameBudgetAlerts, NameBudgetWebhooks, NameHealth, NameLeaderboards, NameAutoscale, NameKeepAlive, NameHealing, NameConfigMirror}, names)
	require.Equal(t, time.Minute, set[9].Interval())
	require.Equal(t, time.Hour, set[7].Interval())
	require.Equal(t, time.Minute, set[2].Interval())
	require.Equal(t, time.Hour, set[3].Interval())
	require.Equal(t, 24*time.Hour, set[1].Interval())
	require.Equal(t, 5*time.Minute, set[4].Interval())
	require.Equal(t, time.Hour, set[5].Interval())
	require.Equal(t, 10*time.Minute, set[6].Interval())

	for _, j := range set {
		_, err := Run(ctx, pool, quietLogger(), "test", j)
		require.NoError(t, err, j.Name())
	}
	st, err := Status(ctx, pool, set)
	require.NoError(t, err)
	for _, s := range st {
		require.NotNil(t, s.LastSuccess, s.Name)
	}
	rollup := st[2].LastRun
	require.Positive(t, rollup.Rows, "the fixture's complete minutes were rolled up")
	require.EqualValues(t, 4, rollup.Details["clusters"], "three clusters and the platform")
	hw := st[9].LastRun
	require.Equal(t, true, hw.Details["computed"], "the hardware figures were never computed")
	require.Positive(t, hw.Rows, "the fixture's hosts have rates")
}

// One Schedule overrides any job's interval or timeout; its zero fields, and the
// jobs not named, keep their defaults.
func TestDefaultSchedulesAreOverriddenByName(t *testing.T) {
	t.Parallel()
	set := Default(nil, DefaultConfig{Schedules: map[string]Schedule{
		NameWatermarkRollup: {Interval: 30 * time.Second},
		NameRetention:       {Timeout: time.Hour},
	}})
	byName := map[string]Job{}
	for _, j := range set {
		byName[j.Name()] = j
	}
	require.Equal(t, 30*time.Second, byName[NameWatermarkRollup].Interval())
	require.Equal(t, 5*time.Minute, byName[NameWatermarkRollup].Timeout())
	require.Equal(t, 24*time.Hour, byName[NameRetention].Interval())
	require.Equal(t, time.Hour, byName[NameRetention].Timeout())
	require.Equal(t, time.Hour, byName[NamePartitions].Interval())
	require.Equal(t, time.Minute, byName[NamePartitions].Timeout())
	require.Equal(t, 10*time.Minute, byName[NameWatermarkForecast].Timeout())
	require.Contains(t, byName[NameRetention].Description(), "older than 14 days")
}
