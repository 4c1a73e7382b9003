package telemetry_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/telemetry"
	"github.com/teslaops/tesla/internal/watermark"
)

// hostHour reads host_metric_1h's samples and CPU sums of a host and hour.
func hostHour(t *testing.T, pool *pgxpool.Pool, host int64, hour time.Time) (samples int, cpuSum float64, cpuN int) {
	t.Helper()
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT samples, cpu_sum, cpu_n FROM host_metric_1h
		WHERE host_id = $1 AND hour = $2`, host, hour).Scan(&samples, &cpuSum, &cpuN))
	return
}

// hostHourPeak reads a host's hour's CPU 95th percentile and maximum.
func hostHourPeak(t *testing.T, pool *pgxpool.Pool, host int64, hour time.Time) (p95, mx float64) {
	t.Helper()
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT cpu_p95, cpu_max FROM host_metric_1h
		WHERE host_id = $1 AND hour = $2`, host, hour).Scan(&p95, &mx))
	return
}

// requireRunningTotals checks that every row's running totals are the sums of
// the host's rows up to it (sums of whole numbers: exact in float8).
func requireRunningTotals(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	require.EqualValues(t, 0, count(t, pool, `SELECT count(*) FROM (
		SELECT cum_samples <> sum(samples) OVER w OR cum_cpu_sum <> sum(cpu_sum) OVER w OR cum_cpu_n <> sum(cpu_n) OVER w
		    OR cum_mem_sum <> sum(mem_sum) OVER w OR cum_mem_n <> sum(mem_n) OVER w OR cum_io_n <> sum(io_n) OVER w
		    OR cum_net_in_sum <> sum(net_in_sum) OVER w OR cum_containers_sum <> sum(containers_sum) OVER w AS wrong
		FROM host_metric_1h WINDOW w AS (PARTITION BY host_id ORDER BY hour)) x WHERE wrong`))
}

// Samples reach host_metric_1h through the dirty minutes: the writer marks
// minutes, the watermark rollup claims them and marks their hours, and
// RollupHostHours derives complete hours; a late sample for an old hour derives
// that hour again, and only the host it changed is rewritten.
func TestHostHoursFollowDirtyMinutesAndLateSamples(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := telemetry.NewWriter(pool)
	hour := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	rollup := watermark.NewRollup(pool, watermark.RollupConfig{})
	roll := func() telemetry.HostHoursResult {
		t.Helper()
		_, err := rollup.RunOnce(ctx)
		require.NoError(t, err)
		res, err := telemetry.RollupHostHours(ctx, pool, telemetry.HostHoursConfig{})
		require.NoError(t, err)
		return res
	}

	// Hosts 1..3, minutes 0..4 of the hour (host 2 has CPU 1, 4, 7, 10, 13) and
	// minutes 0..1 of the next.
	_, err := w.Write(ctx, &telemetry.SliceSource{Samples: append(samples(hour, 3, 15), samples(hour.Add(time.Hour), 3, 6)...)})
	require.NoError(t, err)
	res := roll()
	require.Equal(t, telemetry.HostHoursResult{Hours: 2, Written: 6}, res)
	n, sum, cpuN := hostHour(t, pool, 2, hour)
	require.Equal(t, 5, n)
	require.Equal(t, 35.0, sum)
	require.Equal(t, 5, cpuN)
	p95, mx := hostHourPeak(t, pool, 2, hour)
	require.InDelta(t, 12.4, p95, 1e-4, "the 95th percentile of 1, 4, 7, 10, 13")
	require.Equal(t, 13.0, mx)
	requireRunningTotals(t, pool)
	require.Zero(t, roll().Hours, "nothing dirty, nothing derived")

	// A late sample half an hour into the first hour, and one without CPU: the
	// next hour's running totals move with it.
	late := []telemetry.Sample{
		{HostID: 2, TS: hour.Add(30 * time.Minute), CPUPct: ptr(float32(100))},
		{HostID: 2, TS: hour.Add(31 * time.Minute), MemPct: ptr(float32(10))},
	}
	_, err = w.Write(ctx, &telemetry.SliceSource{Samples: late})
	require.NoError(t, err)
	require.Equal(t, telemetry.HostHoursResult{Hours: 1, Written: 1, Moved: 1}, roll(), "only host 2's rows changed")
	n, sum, cpuN = hostHour(t, pool, 2, hour)
	require.Equal(t, 7, n)
	require.Equal(t, 135.0, sum)
	require.Equal(t, 6, cpuN, "a sample without CPU does not count towards its average")
	p95, mx = hostHourPeak(t, pool, 2, hour)
	require.InDelta(t, 78.25, p95, 1e-4, "the late sample moves the hour's peaks too")
	require.Equal(t, 100.0, mx)
	requireRunningTotals(t, pool)

	// A minute of the last hour is rolled but its hour is not derived until it
	// has been over for the grace period; its mark waits.
	recent := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	_, err = w.Write(ctx, &telemetry.SliceSource{Samples: []telemetry.Sample{{HostID: 1, TS: recent, CPUPct: ptr(float32(5))}}})
	require.NoError(t, err)
	require.Zero(t, roll().Hours)
	require.EqualValues(t, 0, count(t, pool, `SELECT count(*) FROM host_metric_1h WHERE hour = $1`, recent.Truncate(time.Hour)))
	require.EqualValues(t, 1, count(t, pool, `SELECT count(*) FROM host_hour_dirty WHERE hour = $1`, recent.Truncate(time.Hour)))

	// Expiry deletes whole hours before the cutoff.
	gone, err := telemetry.ExpireHostHours(ctx, pool, hour.Add(time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 3, gone)
	require.EqualValues(t, 3, count(t, pool, `SELECT count(*) FROM host_metric_1h`))
}

// When the raw samples of an hour are gone (retention dropped their partition)
// re-deriving the hour keeps its sums instead of deleting them; a host whose
// samples are gone from an hour that still has others loses its row.
func TestHostHoursKeepSumsWhoseSamplesAreGone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := telemetry.NewWriter(pool)
	hour := time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour)
	_, err := w.Write(ctx, &telemetry.SliceSource{Samples: samples(hour, 3, 6)})
	require.NoError(t, err)
	mark := func() {
		_, err := pool.Exec(ctx, `INSERT INTO host_hour_dirty VALUES ($1) ON CONFLICT DO NOTHING`, hour)
		require.NoError(t, err)
		_, err = telemetry.RollupHostHours(ctx, pool, telemetry.HostHoursConfig{})
		require.NoError(t, err)
	}
	mark()
	require.EqualValues(t, 3, count(t, pool, `SELECT count(*) FROM host_metric_1h`))
	requireRunningTotals(t, pool)

	_, err = pool.Exec(ctx, `DELETE FROM host_metric WHERE host_id = 3`)
	require.NoError(t, err)
	mark()
	require.EqualValues(t, 2, count(t, pool, `SELECT count(*) FROM host_metric_1h`), "host 3 has no samples in the hour any more")
	requireRunningTotals(t, pool)

	_, err = pool.Exec(ctx, `DELETE FROM host_metric`)
	require.NoError(t, err)
	mark()
	require.EqualValues(t, 2, count(t, pool, `SELECT count(*) FROM host_metric_1h`), "an hour without samples keeps its sums")
}
