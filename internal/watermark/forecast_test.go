package watermark

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat"

	"github.com/teslaops/tesla/internal/db/dbtest"
)

var day0 = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

// peaksOf makes daily peaks from day0 on.
func peaksOf(values ...float64) []DailyPeak {
	out := make([]DailyPeak, len(values))
	for i, v := range values {
		out[i] = DailyPeak{Day: day0.AddDate(0, 0, i), Peak: v}
	}
	return out
}

func line(n int, start, slope float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = start + slope*float64(i)
	}
	return out
}

func TestFitRisingLineCrossesWhereTheAlgebraSays(t *testing.T) {
	t.Parallel()
	// 0.50 rising 0.01/day crosses 0.70 on day 20; add a small wobble so the
	// confidence band has width.
	v := line(14, 0.50, 0.01)
	for i := range v {
		v[i] += []float64{0.004, -0.003, 0.001, -0.004}[i%4]
	}
	now := day0.AddDate(0, 0, 14)
	f := Fit(peaksOf(v...), 0.70, now, 14*day)
	require.Equal(t, 14, f.DaysOfHistory)
	approx(t, v[13], f.CurrentPeak)
	require.NotNil(t, f.SlopePerDay)
	require.InDelta(t, 0.01, *f.SlopePerDay, 0.001)
	require.NotNil(t, f.CrossesAt)
	want := day0.AddDate(0, 0, 20)
	require.InDelta(t, 0, f.CrossesAt.Sub(want).Hours(), 24, "crossing %s, analytic %s", f.CrossesAt, want)
	require.NotNil(t, f.CrossesAtEarliest)
	require.NotNil(t, f.CrossesAtLatest)
	require.False(t, f.CrossesAtEarliest.After(*f.CrossesAt))
	require.False(t, f.CrossesAtLatest.Before(*f.CrossesAt))
	require.True(t, f.CrossesAtLatest.After(*f.CrossesAtEarliest), "the band has width")

	// The projection runs daily from the last day of history to now + 14 days,
	// with the fit inside its band.
	require.Equal(t, day0.AddDate(0, 0, 13), f.Projection[0].TS)
	require.Equal(t, now.Add(14*day), f.Projection[len(f.Projection)-1].TS)
	for _, p := range f.Projection {
		require.LessOrEqual(t, p.Low, p.Value)
		require.GreaterOrEqual(t, p.High, p.Value)
	}
	require.Equal(t, ForecastMethod, f.Method)
}

func TestFitExactLineHasATightBand(t *testing.T) {
	t.Parallel()
	f := Fit(peaksOf(line(10, 0.30, 0.02)...), 0.70, day0.AddDate(0, 0, 10), 14*day)
	want := day0.AddDate(0, 0, 20)
	require.Equal(t, want, *f.CrossesAt)
	require.Equal(t, want, *f.CrossesAtEarliest)
	require.Equal(t, want, *f.CrossesAtLatest)
}

func TestFitFlatOrFallingNeverCrosses(t *testing.T) {
	t.Parallel()
	for name, v := range map[string][]float64{
		"flat":    line(10, 0.5, 0),
		"falling": line(10, 0.6, -0.01),
	} {
		f := Fit(peaksOf(v...), 0.70, day0.AddDate(0, 0, 10), 14*day)
		require.NotNil(t, f.SlopePerDay, name)
		require.LessOrEqual(t, *f.SlopePerDay, 0.0, name)
		require.Nil(t, f.CrossesAt, name)
		require.Nil(t, f.CrossesAtEarliest, name)
		require.Nil(t, f.CrossesAtLatest, name)
		require.NotEmpty(t, f.Projection, name)
	}
}

func TestFitNeedsThreeDays(t *testing.T) {
	t.Parallel()
	f := Fit(peaksOf(0.5, 0.6), 0.70, day0.AddDate(0, 0, 2), 14*day)
	require.Equal(t, 2, f.DaysOfHistory)
	approx(t, 0.6, f.CurrentPeak)
	require.Nil(t, f.SlopePerDay)
	require.Nil(t, f.CrossesAt)
	require.Empty(t, f.Projection)

	f = Fit(nil, 0.70, day0, 14*day)
	require.Nil(t, f.CurrentPeak)
	require.Zero(t, f.DaysOfHistory)
}

// One anomaly day (a runaway job) barely moves Theil–Sen, where least squares
// is dragged along.
func TestFitIgnoresOneOutlierDay(t *testing.T) {
	t.Parallel()
	clean := line(14, 0.40, 0.01)
	dirty := append([]float64(nil), clean...)
	dirty[11] = 0.98
	now := day0.AddDate(0, 0, 14)
	a := Fit(peaksOf(clean...), 0.70, now, 14*day)
	b := Fit(peaksOf(dirty...), 0.70, now, 14*day)
	require.InDelta(t, *a.SlopePerDay, *b.SlopePerDay, 0.001)
	require.InDelta(t, 0, b.CrossesAt.Sub(*a.CrossesAt).Hours(), 24, "the crossing moves less than a day")

	x := make([]float64, len(dirty))
	for i := range x {
		x[i] = float64(i)
	}
	_, olsSlope := stat.LinearRegression(x, dirty, nil, false)
	require.Greater(t, olsSlope-0.01, 5*(*b.SlopePerDay-0.01), "least squares would have moved far more (slope %.4f)", olsSlope)
}

func TestForecasterStoresForecastsAndRisks(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := newFleet(t, pool)
	rising := f.cluster("rising", "ONLINE")   // threshold 0.70
	flat := f.cluster("flat", "BATCH")        // threshold 0.85
	over := f.cluster("over", "STREAMING")    // threshold 0.60
	young := f.cluster("young", "STREAMING")  // two days only
	retired := f.cluster("retired", "ONLINE") // rising, but retired
	_, err := pool.Exec(context.Background(), `UPDATE cluster SET status = 'RETIRED' WHERE id = $1`, retired)
	require.NoError(t, err)
	ctx := context.Background()
	now := day0.AddDate(0, 0, 14).Add(6 * time.Hour)
	seedDays := func(cluster int64, dim Dimension, peaks []float64, hours int) {
		for i, p := range peaks {
			_, err := pool.Exec(ctx, `INSERT INTO watermark_1d (cluster_id, dimension, ts, used, capacity, utilization,
				peak, p95, max, hosts, minutes, hours) VALUES ($1, $2, $3, $4::float8 * 100, 100, $4, $4, $4, $4, 3, $5::int * 60, $5)`,
				cluster, dim, day0.AddDate(0, 0, i), p, hours)
			require.NoError(t, err)
		}
	}
	seedDays(rising, CPU, line(14, 0.50, 0.01), 24)     // crosses 0.70 on day 20: in 5.75 days
	seedDays(rising, Memory, line(14, 0.30, 0.001), 24) // crosses in ~386 days: no risk
	seedDays(flat, CPU, line(14, 0.60, 0), 24)
	seedDays(young, CPU, line(2, 0.50, 0.05), 24)
	seedDays(retired, CPU, line(14, 0.50, 0.01), 24)
	// Partial days (today's, or a first day of history) are not fitted.
	_, err = pool.Exec(ctx, `INSERT INTO watermark_1d (cluster_id, dimension, ts, used, capacity, utilization, peak,
		hours, minutes, hosts) VALUES ($1, 'CPU', $2, 0, 100, 0, 0, 5, 300, 1)`, flat, day0.AddDate(0, 0, -1))
	require.NoError(t, err)
	// over is at 0.66 right now, above its 0.60 threshold.
	_, err = pool.Exec(ctx, `INSERT INTO watermark_latest (cluster_id, dimension, ts, used, capacity, hosts)
		VALUES ($1, 'CPU', $2, 66, 100, 3), ($3, 'CPU', $2, 61, 100, 3)`, over, now, rising)
	require.NoError(t, err)
	// A stale forecast of a series that has no history any more is removed.
	_, err = pool.Exec(ctx, `INSERT INTO watermark_forecast (cluster_id, dimension, method, threshold,
		days_of_history, computed_at) VALUES ($1, 'NET_IN', 'old', 0.7, 3, $2)`, rising, now.Add(-time.Hour))
	require.NoError(t, err)

	res, err := NewForecaster(pool, ForecastConfig{Now: fixedClock(now)}).RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, ForecastResult{Forecasts: 5, Rising: 3, Crossing: 3, Removed: 1}, res)

	svc := NewService(pool, nil, nil)
	svc.now = fixedClock(now)
	got, err := svc.Forecasts(viewer(), []int64{rising, flat, young, 12345}, nil)
	require.NoError(t, err)
	require.Len(t, got[rising], 2)
	cpu := got[rising][0]
	require.Equal(t, CPU, cpu.Dimension)
	require.Equal(t, 0.70, cpu.Threshold)
	require.Equal(t, 14, cpu.DaysOfHistory)
	require.Equal(t, day0.AddDate(0, 0, 20), cpu.CrossesAt.UTC())
	require.NotEmpty(t, cpu.Projection)
	require.Equal(t, now, cpu.ComputedAt.UTC())
	require.Nil(t, got[flat][0].CrossesAt)
	require.Equal(t, 14, got[flat][0].DaysOfHistory, "the partial day is left out")
	require.Nil(t, got[young][0].SlopePerDay)
	require.Empty(t, got[12345])

	risks, err := svc.ClustersAtRisk(viewer(), 14*day)
	require.NoError(t, err)
	require.Len(t, risks, 2)
	require.Equal(t, over, risks[0].ClusterID, "over the threshold now comes first")
	require.Equal(t, 0.0, *risks[0].DaysToThreshold)
	require.InDelta(t, 0.66, risks[0].Utilization, 1e-9)
	require.Contains(t, risks[0].Reason, "over the 60% threshold")
	require.Equal(t, rising, risks[1].ClusterID)
	require.InDelta(t, 5.75, *risks[1].DaysToThreshold, 1e-9)
	require.InDelta(t, 0.61, risks[1].Utilization, 1e-9)
	require.Contains(t, risks[1].Reason, "trend +1.0 points/day")

	risks, err = svc.ClustersAtRisk(viewer(), 5*day)
	require.NoError(t, err)
	require.Len(t, risks, 1, "the crossing in 5.75 days is beyond a 5-day horizon")
}

// Peaks that have been over the threshold all along, creeping up: the crossing
// is the first day of history, not a date decades back.
func TestFitAlreadyOverCrossesAtTheStartOfHistory(t *testing.T) {
	t.Parallel()
	f := Fit(peaksOf(line(10, 0.95, 1e-7)...), 0.85, day0.AddDate(0, 0, 10), 14*day)
	require.NotNil(t, f.CrossesAt)
	require.Equal(t, day0, *f.CrossesAt)
}
