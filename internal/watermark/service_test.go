package watermark

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
)

func TestChooseStep(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC)
	cases := []struct {
		name      string
		span      time.Duration
		step      time.Duration
		maxPoints int
		want      time.Duration
		source    time.Duration
	}{
		{"day at 500 points: 5 minutes", day, 0, 500, 5 * time.Minute, time.Minute},
		{"hour at 500 points: minutes", time.Hour, 0, 500, time.Minute, time.Minute},
		{"30 days hourly asked, fits", 30 * day, time.Hour, 1000, time.Hour, time.Hour},
		{"30 days hourly asked, too many", 30 * day, time.Hour, 500, 2 * time.Hour, time.Hour},
		{"30 days at 500 points", 30 * day, 0, 500, 2 * time.Hour, time.Hour},
		{"400 days at 10 points", 400 * day, 0, 10, 41 * day, day},
		{"400 days at 1 point", 400 * day, 0, 1, 401 * day, day},
		{"odd step rounds up to minutes", 2 * time.Hour, 90 * time.Second, 500, 2 * time.Minute, time.Minute},
		{"90 minutes reads minutes", 2 * day, 90 * time.Minute, 500, 90 * time.Minute, time.Minute},
		{"a week of days", 7 * day, day, 500, day, day},
	}
	for _, c := range cases {
		step, src, origin := chooseStep(from, from.Add(c.span), c.step, c.maxPoints)
		require.Equal(t, c.want, step, c.name)
		require.Equal(t, c.source, src.step, c.name)
		require.Equal(t, from.Truncate(src.step), origin, c.name)
		n := (from.Add(c.span).Sub(origin) + step - 1) / step
		require.LessOrEqual(t, int(n), c.maxPoints, c.name)
	}
}

func TestSeriesCoarsensToMaxPoints(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := newFleet(t, pool)
	c := f.cluster("c", "BATCH")
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `INSERT INTO watermark_1m (cluster_id, dimension, ts, used, capacity, p95, max, hosts)
		SELECT $1, 'CPU', $2::timestamptz + i * interval '1 minute', i % 10, 10, (i % 10) / 10.0, (i % 10) / 10.0, 2
		FROM generate_series(0, 179) i`, c, from)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO watermark_1h (cluster_id, dimension, ts, used, capacity, utilization, peak,
		p95, max, hosts, minutes) VALUES ($1, 'CPU', $2, 4.5, 10, 0.45, 0.9, 0.9, 0.9, 2, 60),
		($1, 'CPU', $2::timestamptz + interval '1 hour', 4.5, 10, 0.45, 0.9, 0.9, 0.9, 3, 60),
		($1, 'CPU', $2::timestamptz + interval '2 hour', 9, 10, 0.9, 0.9, 0.9, 0.9, 2, 30)`, c, from)
	require.NoError(t, err)
	svc := NewService(pool, nil, nil)

	// Three hours at 10 points: 30-minute steps from the minutes.
	series, err := svc.Series(viewer(), c, []Dimension{CPU}, from, from.Add(3*time.Hour), 0, 10)
	require.NoError(t, err)
	require.Len(t, series, 1)
	s := series[0]
	require.Equal(t, 30*time.Minute, s.Step)
	require.Equal(t, 0.85, s.Threshold)
	require.Equal(t, "cores", s.Unit)
	require.Len(t, s.Points, 6)
	p := s.Points[0]
	require.Equal(t, from, p.TS)
	require.InDelta(t, 4.5, p.Used, 1e-9) // 0..9 three times
	require.InDelta(t, 0.45, p.Utilization, 1e-9)
	require.InDelta(t, 0.9, p.Peak, 1e-9)
	approx(t, 0.9, p.Max)
	require.Equal(t, 2, p.Hosts)

	// The same at 1-minute steps and enough points: the minutes themselves.
	series, err = svc.Series(viewer(), c, []Dimension{CPU}, from, from.Add(3*time.Hour), time.Minute, 500)
	require.NoError(t, err)
	require.Len(t, series[0].Points, 180)
	require.Equal(t, time.Minute, series[0].Step)
	require.InDelta(t, 0.3, series[0].Points[3].Utilization, 1e-9)

	// Hourly steps read the hour table; a 2-hour step weighs hours by minutes.
	series, err = svc.Series(viewer(), c, nil, from, from.Add(3*time.Hour), 2*time.Hour, 500)
	require.NoError(t, err)
	require.Len(t, series, len(AllDimensions()), "all dimensions, empty where there is no data")
	require.Empty(t, series[len(series)-1].Points)
	s = series[0]
	require.Equal(t, 2*time.Hour, s.Step)
	require.Len(t, s.Points, 2)
	require.Equal(t, 3, s.Points[0].Hosts)
	require.InDelta(t, 0.45, s.Points[0].Utilization, 1e-9)
	require.InDelta(t, 0.9, s.Points[1].Utilization, 1e-9)

	// maxPoints 1: one point, whatever the step asked for.
	series, err = svc.Series(viewer(), c, []Dimension{CPU}, from, from.Add(3*time.Hour), time.Minute, 1)
	require.NoError(t, err)
	require.Len(t, series[0].Points, 1)
	require.InDelta(t, (0.45*60+0.45*60+0.9*30)/150, series[0].Points[0].Utilization, 1e-9)
}

func TestSeriesValidatesInput(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := newFleet(t, pool)
	c := f.cluster("c", "ONLINE")
	svc := NewService(pool, nil, nil)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		field     string
		dims      []Dimension
		from, to  time.Time
		step      time.Duration
		maxPoints int
	}{
		{"to", nil, from, from, 0, 10},
		{"to", nil, from, from.Add(-time.Hour), 0, 10},
		{"from", nil, from, from.Add(401 * day), 0, 10},
		{"maxPoints", nil, from, from.Add(time.Hour), 0, 0},
		{"maxPoints", nil, from, from.Add(time.Hour), 0, 10001},
		{"step", nil, from, from.Add(time.Hour), -time.Minute, 10},
		{"dimensions", []Dimension{"GPU"}, from, from.Add(time.Hour), 0, 10},
	}
	for _, tc := range cases {
		_, err := svc.Series(viewer(), c, tc.dims, tc.from, tc.to, tc.step, tc.maxPoints)
		fe, ok := fault.As(err)
		require.True(t, ok, "%s: %v", tc.field, err)
		require.Equal(t, fault.Invalid, fe.Kind, tc.field)
		require.Equal(t, tc.field, fe.Field)
	}
	_, err := svc.Series(viewer(), 987654, nil, from, from.Add(time.Hour), 0, 10)
	require.True(t, fault.Is(err, fault.NotFound), "%v", err)
	_, err = svc.Series(viewer(), PlatformID, nil, from, from.Add(time.Hour), 0, 10)
	require.NoError(t, err, "the platform is always there")
	_, err = svc.Series(viewer(), c, nil, from, from.Add(400*day), 0, 10000)
	require.NoError(t, err, "400 days is allowed")

	_, err = svc.ClustersAtRisk(viewer(), 0)
	require.True(t, fault.Is(err, fault.Invalid))
	_, err = svc.Now(viewer(), []int64{c}, []Dimension{"GPU"})
	require.True(t, fault.Is(err, fault.Invalid))
}

func TestServiceRequiresSignIn(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	svc := NewService(pool, nil, nil)
	ctx := context.Background()
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	_, err := svc.Series(ctx, PlatformID, nil, from, from.Add(time.Hour), 0, 10)
	require.True(t, fault.Is(err, fault.Unauthenticated))
	_, err = svc.Now(ctx, []int64{PlatformID}, nil)
	require.True(t, fault.Is(err, fault.Unauthenticated))
	_, err = svc.Forecasts(ctx, []int64{PlatformID}, nil)
	require.True(t, fault.Is(err, fault.Unauthenticated))
	_, err = svc.ClustersAtRisk(ctx, day)
	require.True(t, fault.Is(err, fault.Unauthenticated))
	_, err = svc.Thresholds(ctx)
	require.True(t, fault.Is(err, fault.Unauthenticated))
	_, err = svc.ClusterThresholds(ctx, []int64{PlatformID})
	require.True(t, fault.Is(err, fault.Unauthenticated))
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		util, threshold float64
		want            string
	}{
		{0.50, 0.60, StatusOK},
		{0.509, 0.60, StatusOK},
		{0.51, 0.60, StatusWarn},
		{0.60, 0.60, StatusWarn},
		{0.601, 0.60, StatusCritical},
		{0.72, 0.85, StatusOK}, // 85% of 0.85 is 0.7225
		{0.73, 0.85, StatusWarn},
		{0.00, 0.70, StatusOK},
	} {
		require.Equal(t, c.want, StatusOf(c.util, c.threshold), "%v of %v", c.util, c.threshold)
	}
}

func TestThresholdsAreOperatorData(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := handFleet(t, pool)
	ctx := context.Background()
	_, err := newRollup(pool, m0.Add(5*time.Minute)).RunOnce(ctx)
	require.NoError(t, err)
	svc := NewService(pool, nil, nil)

	th, err := svc.Thresholds(viewer())
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"STREAMING": 0.60, "BATCH": 0.85, "ONLINE": 0.70, "PLATFORM": 0.80}, th)
	byCluster, err := svc.ClusterThresholds(viewer(), []int64{f.clusters["batch"], PlatformID, 4242})
	require.NoError(t, err)
	require.Equal(t, map[int64]float64{f.clusters["batch"]: 0.85, PlatformID: 0.80}, byCluster)

	// Batch CPU is at 20/36 = 0.56: OK against 0.85, WARN once an operator
	// lowers the threshold to 0.60, CRITICAL at 0.50.
	status := func() string {
		now, err := svc.Now(viewer(), []int64{f.clusters["batch"]}, []Dimension{CPU})
		require.NoError(t, err)
		return now[f.clusters["batch"]][0].Status
	}
	require.Equal(t, StatusOK, status())
	_, err = pool.Exec(ctx, `UPDATE watermark_threshold SET threshold = 0.60 WHERE kind = 'BATCH'`)
	require.NoError(t, err)
	require.Equal(t, StatusWarn, status())
	_, err = pool.Exec(ctx, `UPDATE watermark_threshold SET threshold = 0.50 WHERE kind = 'BATCH'`)
	require.NoError(t, err)
	require.Equal(t, StatusCritical, status())
	_, err = pool.Exec(ctx, `UPDATE watermark_threshold SET threshold = 1.5 WHERE kind = 'BATCH'`)
	require.Error(t, err, "a threshold is a share of capacity")
}

// The schema documents that a series without from and to covers the last 24
// hours; either bound alone keeps the other's default.
func TestSeriesDefaultsToTheLast24Hours(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := newFleet(t, pool)
	c := f.cluster("c", "BATCH")
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	_, err := pool.Exec(context.Background(), `INSERT INTO watermark_1m (cluster_id, dimension, ts, used, capacity, hosts)
		SELECT $1, 'CPU', $2::timestamptz - m * interval '1 minute', 1, 10, 1 FROM unnest($3::int[]) m`,
		c, now, []int{1, 23 * 60, 24*60 + 1, 25 * 60})
	require.NoError(t, err)
	svc := NewService(pool, nil, nil)
	svc.now = func() time.Time { return now }
	stamps := func(from, to time.Time) []time.Time {
		t.Helper()
		series, err := svc.Series(viewer(), c, []Dimension{CPU}, from, to, time.Minute, MaxSeriesPoints)
		require.NoError(t, err)
		var out []time.Time
		for _, p := range series[0].Points {
			out = append(out, p.TS)
		}
		return out
	}
	require.Equal(t, []time.Time{now.Add(-23 * time.Hour), now.Add(-time.Minute)}, stamps(time.Time{}, time.Time{}))
	require.Equal(t, []time.Time{now.Add(-25 * time.Hour), now.Add(-24*time.Hour - time.Minute), now.Add(-23 * time.Hour)},
		stamps(time.Time{}, now.Add(-time.Hour)), "to alone: the 24 hours before it")
	require.Equal(t, []time.Time{now.Add(-23 * time.Hour), now.Add(-time.Minute)},
		stamps(now.Add(-23*time.Hour), time.Time{}), "from alone: up to now")
}
