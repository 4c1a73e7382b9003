package telemetry_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/telemetry"
)

// latest reads host_latest's time and CPU for a host straight from the table.
func latest(t *testing.T, pool *pgxpool.Pool, host int64) (time.Time, float32) {
	t.Helper()
	var ts time.Time
	var cpu float32
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT ts, cpu_pct FROM host_latest WHERE host_id = $1`, host).Scan(&ts, &cpu))
	return ts, cpu
}

// host_latest follows every Writer path (direct COPY, the deduplicating staged
// path), is idempotent under re-ingestion (the first value of a host and time
// stays, as in host_metric) and never moves back for a late sample.
func TestWriteKeepsTheLatestSamplePerHost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := telemetry.NewWriter(pool)
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)

	// Hosts 1..3, minutes 0..4: host h's newest is minute 4.
	_, err := w.Write(ctx, &telemetry.SliceSource{Samples: samples(t0, 3, 15)})
	require.NoError(t, err)
	require.EqualValues(t, 3, count(t, pool, `SELECT count(*) FROM host_latest`))
	ts, cpu := latest(t, pool, 2)
	require.True(t, ts.Equal(t0.Add(4*time.Minute)), "%s", ts)
	require.Equal(t, float32(13), cpu, "sample 13 is host 2's newest")

	// Re-sending everything with other values changes nothing (staged path).
	again := samples(t0, 3, 15)
	for i := range again {
		again[i].CPUPct = ptr(float32(77))
	}
	res, err := w.Write(ctx, &telemetry.SliceSource{Samples: again})
	require.NoError(t, err)
	require.EqualValues(t, 15, res.Duplicates)
	ts, cpu = latest(t, pool, 2)
	require.True(t, ts.Equal(t0.Add(4*time.Minute)))
	require.Equal(t, float32(13), cpu, "the first value of a host and time stays")

	// A late sample (older than the newest) is stored but does not move it back,
	// on the direct path and on the staged path (mixed with a duplicate).
	late := []telemetry.Sample{{HostID: 2, TS: t0.Add(-time.Minute), CPUPct: ptr(float32(1))}}
	_, err = w.Write(ctx, &telemetry.SliceSource{Samples: late})
	require.NoError(t, err)
	late = []telemetry.Sample{{HostID: 2, TS: t0.Add(-2 * time.Minute), CPUPct: ptr(float32(2))}, again[0]}
	res, err = w.Write(ctx, &telemetry.SliceSource{Samples: late})
	require.NoError(t, err)
	require.Equal(t, telemetry.Result{Accepted: 1, Duplicates: 1}, res)
	ts, cpu = latest(t, pool, 2)
	require.True(t, ts.Equal(t0.Add(4*time.Minute)), "a late sample never moves the latest back: %s", ts)
	require.Equal(t, float32(13), cpu)

	// A newer one moves it forward, staged (mixed with a duplicate) or not.
	newer := []telemetry.Sample{again[1], {HostID: 2, TS: t0.Add(5 * time.Minute), CPUPct: ptr(float32(55))}}
	_, err = w.Write(ctx, &telemetry.SliceSource{Samples: newer})
	require.NoError(t, err)
	ts, cpu = latest(t, pool, 2)
	require.True(t, ts.Equal(t0.Add(5*time.Minute)))
	require.Equal(t, float32(55), cpu)
	newer = []telemetry.Sample{{HostID: 2, TS: t0.Add(6 * time.Minute), CPUPct: ptr(float32(66))}}
	_, err = w.Write(ctx, &telemetry.SliceSource{Samples: newer})
	require.NoError(t, err)
	ts, cpu = latest(t, pool, 2)
	require.True(t, ts.Equal(t0.Add(6*time.Minute)))
	require.Equal(t, float32(66), cpu)

	got, err := telemetry.LatestByHost(ctx, pool, []int64{2, 3}, t0)
	require.NoError(t, err)
	require.Equal(t, float32(66), *got[2].CPUPct)
	require.True(t, got[3].TS.Equal(t0.Add(4*time.Minute)))
}

// Upsert refines the latest sample at the same time (the ticker rewriting its
// current slot), moves it forward, and never back; Load sets it for every host
// it loaded.
func TestUpsertAndLoadKeepTheLatestSamplePerHost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	_, err := telemetry.EnsurePartitions(ctx, pool, t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
	require.NoError(t, err)
	upsert := func(s ...telemetry.Sample) {
		t.Helper()
		require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := telemetry.Upsert(ctx, tx, s)
			return err
		}))
	}

	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := telemetry.Load(ctx, tx, &telemetry.SliceSource{Samples: samples(t0, 4, 12)})
		return err
	}))
	require.EqualValues(t, 4, count(t, pool, `SELECT count(*) FROM host_latest`))
	ts, cpu := latest(t, pool, 1)
	require.True(t, ts.Equal(t0.Add(2*time.Minute)))
	require.Equal(t, float32(8), cpu)

	upsert(telemetry.Sample{HostID: 1, TS: t0.Add(3 * time.Minute), CPUPct: ptr(float32(30))})
	ts, cpu = latest(t, pool, 1)
	require.True(t, ts.Equal(t0.Add(3*time.Minute)))
	require.Equal(t, float32(30), cpu, "new row, direct path")
	upsert(telemetry.Sample{HostID: 1, TS: t0.Add(3 * time.Minute), CPUPct: ptr(float32(31))})
	_, cpu = latest(t, pool, 1)
	require.Equal(t, float32(31), cpu, "the same time refined")
	upsert(telemetry.Sample{HostID: 1, TS: t0, CPUPct: ptr(float32(5))})
	ts, cpu = latest(t, pool, 1)
	require.True(t, ts.Equal(t0.Add(3*time.Minute)), "an older sample never moves it back")
	require.Equal(t, float32(31), cpu)
	require.EqualValues(t, 13, count(t, pool, `SELECT count(*) FROM host_metric`))
	require.EqualValues(t, 5, count(t, pool, `SELECT cpu_pct FROM host_metric WHERE host_id = 1 AND ts = $1`, t0))
}
