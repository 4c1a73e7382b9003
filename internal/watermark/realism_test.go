package watermark

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/sim"
)

// TestDemoFleetWatermarksLookRight rolls up and forecasts a week of the demo
// fleet and checks what an operator would look for: the hot batch cluster is
// flagged, the two trending clusters' daily peaks rise at about the rate the
// simulator grows them, and the flat one does not.
func TestDemoFleetWatermarksLookRight(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)
	_, err := sim.Seed(ctx, pool, sim.Config{Clusters: 6, Hosts: 120, Days: 8, People: 8, Now: now},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)

	res, err := NewRollup(pool, RollupConfig{Now: fixedClock(now.Add(time.Minute)), MaxBatches: 1000}).RunOnce(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 8*288, res.Minutes, "every 5-minute sample time of 8 days")
	require.Zero(t, count(t, pool, `SELECT count(*) FROM rollup_dirty`))
	fres, err := NewForecaster(pool, ForecastConfig{Now: fixedClock(now)}).RunOnce(ctx)
	require.NoError(t, err)
	require.Positive(t, fres.Forecasts)

	ids := map[string]int64{}
	rows, err := pool.Query(ctx, `SELECT name, id FROM cluster`)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		var id int64
		require.NoError(t, rows.Scan(&name, &id))
		ids[name] = id
	}
	require.NoError(t, rows.Err())

	svc := NewService(pool, nil, nil)
	svc.now = fixedClock(now)
	forecasts, err := svc.Forecasts(viewer(), []int64{ids["rt-ads-01"], ids["online-search-01"], ids["rt-search-01"], ids["batch-wh-01"]}, []Dimension{CPU})
	require.NoError(t, err)
	for name, id := range ids {
		if fs := forecasts[id]; len(fs) > 0 {
			f := fs[0]
			t.Logf("%-18s days %d peak %.3f slope %+.4f/day crosses %v", name, f.DaysOfHistory, *f.CurrentPeak, *f.SlopePerDay, f.CrossesAt)
		}
	}
	for name, perDay := range map[string]float64{"rt-ads-01": 0.016, "online-search-01": 0.012, "rt-search-01": 0} {
		f := forecasts[ids[name]][0]
		require.Equal(t, 7, f.DaysOfHistory, "%s: the 7 complete days between the partial first day and today", name)
		require.InDelta(t, perDay, *f.SlopePerDay, 0.006, "%s: daily peak slope", name)
	}
	require.NotNil(t, forecasts[ids["rt-ads-01"]][0].CrossesAt, "a rising cluster gets a crossing date")

	hot := forecasts[ids["batch-wh-01"]][0]
	require.Greater(t, *hot.CurrentPeak, 0.85, "the hot batch cluster peaks over its threshold")
	risks, err := svc.ClustersAtRisk(viewer(), 14*day)
	require.NoError(t, err)
	var flagged bool
	for _, r := range risks {
		t.Logf("risk: cluster %d %s %.2f: %s", r.ClusterID, r.Dimension, r.Utilization, r.Reason)
		flagged = flagged || r.ClusterID == ids["batch-wh-01"]
	}
	require.True(t, flagged, "the hot cluster is at risk")

	// The platform's latest CPU is the sum of the clusters'.
	levels, err := svc.Now(viewer(), []int64{PlatformID}, []Dimension{CPU})
	require.NoError(t, err)
	require.Len(t, levels[PlatformID], 1)
	var used, capacity float64
	require.NoError(t, pool.QueryRow(ctx, `SELECT sum(used), sum(capacity) FROM watermark_latest
		WHERE cluster_id <> 0 AND dimension = 'CPU' AND ts = $1`, levels[PlatformID][0].TS).Scan(&used, &capacity))
	require.InDelta(t, used, levels[PlatformID][0].Used, 1e-6*used)
	require.Equal(t, capacity, levels[PlatformID][0].Capacity)
}
