package aquila_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/watermark"
)

// The water-level pre-check against constructed history: each cluster (ten
// hosts, two in MAINTENANCE, a BATCH threshold of 85%) upgrades in eight 10%
// batches of 15 minutes (no upgrade history), so the window is the two
// hours from now. With a batch out the rest carries u / 0.9.
func TestPreCheckWaterLevelUsesTheForecast(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	bg := context.Background()
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	today := now.Truncate(24 * time.Hour)
	cs := newTDPs(t, pool, 7, 10)
	_, err := pool.Exec(bg, `UPDATE cluster SET kind = 'BATCH'`)
	require.NoError(t, err)

	// history gives cluster c one CPU peak a day, oldest first, ending yesterday.
	history := func(c int64, peaks ...float64) {
		for i, p := range peaks {
			_, err := pool.Exec(bg, `INSERT INTO watermark_1d (cluster_id, dimension, ts, used, capacity, utilization,
				peak, p95, max, hosts, minutes, hours) VALUES ($1, 'CPU', $2, $3::float8 * 100, 100, $3, $3, $3, $3, 10, 1440, 24)`,
				c, today.AddDate(0, 0, i-len(peaks)), p)
			require.NoError(t, err)
		}
	}
	current := func(c int64, u float64) {
		_, err := pool.Exec(bg, `INSERT INTO watermark_latest (cluster_id, dimension, ts, used, capacity, hosts)
			VALUES ($1, 'CPU', $2, $3::float8 * 100, 100, 8)`, c, now.Add(-time.Minute), u)
		require.NoError(t, err)
	}
	flat := make([]float64, 14)
	rising := make([]float64, 14)
	for i := range flat {
		flat[i] = 0.50
		rising[i] = 0.52 + 0.02*float64(i) // 0.78 yesterday, 0.80 today by the trend
	}
	pass, warn, over, thin, thinOver, slow, full := cs[0].cluster, cs[1].cluster, cs[2].cluster, cs[3].cluster, cs[4].cluster, cs[5].cluster, cs[6].cluster
	history(pass, flat...)
	current(pass, 0.50)
	history(warn, rising...)
	current(warn, 0.60)
	history(over, rising...)
	current(over, 0.80)
	history(thin, 0.50, 0.50) // two days: no forecast
	current(thin, 0.50)
	history(thinOver, 0.80, 0.80)
	current(thinOver, 0.80)
	history(slow, flat...)
	current(slow, 0.50)
	_, err = watermark.NewForecaster(pool, watermark.ForecastConfig{Now: func() time.Time { return now }}).RunOnce(bg)
	require.NoError(t, err)

	check := func(c tdp) aquila.Check {
		t.Helper()
		checks, err := aquila.PreCheck(operatorCtx(), pool, upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{BatchPercent: 10}),
			aquila.PreCheckConfig{Now: func() time.Time { return now }})
		require.NoError(t, err)
		for _, ch := range checks {
			if ch.Name == aquila.CheckWaterLevel {
				return ch
			}
		}
		t.Fatalf("no water-level check in %+v", checks)
		return aquila.Check{}
	}

	ch := check(cs[0])
	require.Equal(t, aquila.CheckPass, ch.Status, ch.Message)
	require.Contains(t, ch.Message, "CPU's forecast peak over the upgrade's expected 2h0m0s (8 batches × 15m0s, the default) is 50% of capacity on 2026-11-20, 56% with a 10% batch out, against the cluster's threshold of 85%; now 50%")

	ch = check(cs[1])
	require.Equal(t, aquila.CheckWarning, ch.Status, ch.Message)
	require.Contains(t, ch.Message, "is 80% of capacity on 2026-11-20, 89% with a 10% batch out, against the cluster's threshold of 85%; now 60%")

	ch = check(cs[2])
	require.Equal(t, aquila.CheckWarning, ch.Status, ch.Message)
	require.Contains(t, ch.Message, "CPU is at 80% of capacity: taking a 10% batch out puts the rest at 89%, over the cluster's threshold of 85%")
	require.Contains(t, ch.Message, "forecast peak")

	ch = check(cs[3])
	require.Equal(t, aquila.CheckPass, ch.Status, ch.Message)
	require.Equal(t, "CPU at 50% of capacity is 56% with a 10% batch out, within the cluster's threshold of 85%; CPU has no forecast (2 day(s) of history, 3 needed): judged on the current level, CPU 50% (56% with the batch out)", ch.Message)

	ch = check(cs[4])
	require.Equal(t, aquila.CheckWarning, ch.Status, ch.Message)
	require.Contains(t, ch.Message, "CPU has no forecast (2 day(s) of history, 3 needed)")

	// A batch that does not fit now: 95% of capacity is 106% of the hosts
	// left with a batch out.
	current(full, 0.95)
	ch = check(cs[6])
	require.Equal(t, aquila.CheckFail, ch.Status, ch.Message)
	require.Contains(t, ch.Message, "CPU is at 95% of capacity: taking a 10% batch out puts the rest at 106%, more than the hosts left can carry")

	// The cluster's own upgrade history sets the batch time: a finished
	// upgrade whose stages took 40 minutes makes the window 5h20m.
	finishedUpgrade(t, pool, slow, 40*time.Minute, 45*time.Minute, 35*time.Minute)
	ch = check(cs[5])
	require.Equal(t, aquila.CheckPass, ch.Status, ch.Message)
	require.Contains(t, ch.Message, "expected 5h20m0s (8 batches × 40m0s, the median of the cluster's recent upgrade stages)")

	// The upgrade itself is refused on a FAIL, not on a WARNING.
	svc := newService(pool, nil)
	svc.PreCheck.Now = func() time.Time { return now }
	_, _, err = svc.Upgrade(operatorCtx(), upgradeReq(full, cs[6].versions["2.0"], aquila.UpgradeParams{BatchPercent: 10}))
	require.ErrorContains(t, err, "waterLevel: CPU is at 95% of capacity")
}

// finishedUpgrade records a SUCCEEDED upgrade of cluster c whose stages took
// the given durations.
func finishedUpgrade(t *testing.T, pool *pgxpool.Pool, c int64, took ...time.Duration) {
	t.Helper()
	bg := context.Background()
	var op int64
	require.NoError(t, pool.QueryRow(bg, `INSERT INTO operation (kind, cluster_id, state, requested_by, current_stage)
		VALUES ('UPGRADE', $1, 'SUCCEEDED', 'test', $2) RETURNING id`, c, len(took)).Scan(&op))
	end := time.Now().Add(-24 * time.Hour)
	for i, d := range took {
		_, err := pool.Exec(bg, `INSERT INTO operation_stage (operation_id, position, name, state, started_at, ended_at)
			VALUES ($1, $2, 'upgrade batch', 'SUCCEEDED', $3, $4)`, op, i+1, end.Add(-d), end)
		require.NoError(t, err)
	}
}
