package telemetry_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/telemetry"
)

func ptr[T any](v T) *T { return &v }

// samples returns n samples of host ids 1..hosts, one per host per minute from t0.
func samples(t0 time.Time, hosts, n int) []telemetry.Sample {
	out := make([]telemetry.Sample, 0, n)
	for i := range n {
		out = append(out, telemetry.Sample{
			HostID: int64(i%hosts + 1), TS: t0.Add(time.Duration(i/hosts) * time.Minute),
			CPUPct: ptr(float32(i % 100)), MemPct: ptr(float32(50)), NetInBps: ptr(1e9), Containers: ptr(int32(i % 7)),
		})
	}
	return out
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func TestWriteStoresSamplesAndCountsDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := telemetry.NewWriter(pool)
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)

	first := samples(t0, 10, 50)
	res, err := w.Write(ctx, &telemetry.SliceSource{Samples: first})
	require.NoError(t, err)
	require.Equal(t, telemetry.Result{Accepted: 50}, res)

	// Every value round-trips, NULL stays NULL.
	var cpu, mem float32
	var disk *float32
	var netIn float64
	var netOut *float64
	var containers int32
	require.NoError(t, pool.QueryRow(ctx, `SELECT cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers
		FROM host_metric WHERE host_id = 4 AND ts = $1`, t0.Add(2*time.Minute)).Scan(&cpu, &mem, &disk, &netIn, &netOut, &containers))
	require.Equal(t, float32(23), cpu)
	require.Equal(t, float32(50), mem)
	require.Nil(t, disk)
	require.Equal(t, 1e9, netIn)
	require.Nil(t, netOut)
	require.Equal(t, int32(23%7), containers)

	// Re-sending everything stores nothing; a mix of stored, repeated and new rows
	// is counted exactly and the first value wins.
	res, err = w.Write(ctx, &telemetry.SliceSource{Samples: first})
	require.NoError(t, err)
	require.Equal(t, telemetry.Result{Duplicates: 50}, res)

	changed := first[0]
	changed.CPUPct = ptr(float32(99))
	fresh := samples(t0.Add(time.Hour), 10, 20)
	mix := append([]telemetry.Sample{changed}, fresh...)
	mix = append(mix, fresh[3], fresh[4])
	res, err = w.Write(ctx, &telemetry.SliceSource{Samples: mix})
	require.NoError(t, err)
	require.Equal(t, telemetry.Result{Accepted: 20, Duplicates: 3}, res)
	require.EqualValues(t, 70, count(t, pool, `SELECT count(*) FROM host_metric`))
	require.EqualValues(t, 0, count(t, pool, `SELECT cpu_pct::bigint FROM host_metric WHERE host_id = 1 AND ts = $1`, t0))
}

func TestWriteCommitsBatchesAndKeepsThemWhenTheSourceFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := telemetry.NewWriterWithConfig(pool, telemetry.WriterConfig{BatchRows: 10})
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)

	src := &failingSource{SliceSource: telemetry.SliceSource{Samples: samples(t0, 5, 25)}, err: errors.New("gzip: corrupt")}
	res, err := w.Write(ctx, src)
	require.ErrorIs(t, err, src.err)
	require.ErrorContains(t, err, "error reading samples")
	require.Equal(t, telemetry.Result{Accepted: 25}, res)
	require.EqualValues(t, 25, count(t, pool, `SELECT count(*) FROM host_metric`))
}

// failingSource yields its samples, then reports err.
type failingSource struct {
	telemetry.SliceSource
	err error
}

func (f *failingSource) Err() error { return f.err }

func TestWriteDeduplicatesAcrossBatchesAndReturnsToTheFastPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := telemetry.NewWriterWithConfig(pool, telemetry.WriterConfig{BatchRows: 100})
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-2 * time.Hour)

	all := samples(t0, 20, 1000)
	// Store every third sample first, then send everything: batches mix stored and
	// new rows, and some repeat a row of their own.
	var some []telemetry.Sample
	for i := 0; i < len(all); i += 3 {
		some = append(some, all[i])
	}
	res, err := w.Write(ctx, &telemetry.SliceSource{Samples: some})
	require.NoError(t, err)
	require.EqualValues(t, len(some), res.Accepted)

	body := append(append([]telemetry.Sample{}, all...), all[500:550]...)
	res, err = w.Write(ctx, &telemetry.SliceSource{Samples: body})
	require.NoError(t, err)
	require.Equal(t, telemetry.Result{Accepted: int64(len(all) - len(some)), Duplicates: int64(len(some) + 50)}, res)
	require.EqualValues(t, len(all), count(t, pool, `SELECT count(*) FROM host_metric`))

	// A clean batch after a duplicate one switches back to the direct COPY; the
	// counts stay exact either way.
	mixed := append(append([]telemetry.Sample{}, all[:100]...), samples(t0.Add(24*time.Hour), 20, 300)...)
	res, err = w.Write(ctx, &telemetry.SliceSource{Samples: mixed})
	require.NoError(t, err)
	require.Equal(t, telemetry.Result{Accepted: 300, Duplicates: 100}, res)
}

func TestWriteMarksOnlyAcceptedMinutesDirty(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := telemetry.NewWriter(pool)
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-3 * time.Hour)

	_, err := w.Write(ctx, &telemetry.SliceSource{Samples: samples(t0.Add(15*time.Second), 4, 12)}) // minutes 0, 1, 2
	require.NoError(t, err)
	require.EqualValues(t, 3, count(t, pool, `SELECT count(*) FROM rollup_dirty WHERE minute BETWEEN $1 AND $2`, t0, t0.Add(2*time.Minute)))
	require.EqualValues(t, 3, count(t, pool, `SELECT count(*) FROM rollup_dirty WHERE minute >= $1`, t0))

	// After the rollup consumed them, re-sending marks nothing; a staged batch marks
	// the minutes of its new rows only.
	_, err = pool.Exec(ctx, `DELETE FROM rollup_dirty`)
	require.NoError(t, err)
	again := samples(t0.Add(15*time.Second), 4, 12)
	again = append(again, telemetry.Sample{HostID: 99, TS: t0.Add(10 * time.Minute)})
	res, err := w.Write(ctx, &telemetry.SliceSource{Samples: again})
	require.NoError(t, err)
	require.Equal(t, telemetry.Result{Accepted: 1, Duplicates: 12}, res)
	var minutes []time.Time
	rows, err := pool.Query(ctx, `SELECT minute FROM rollup_dirty`)
	require.NoError(t, err)
	for rows.Next() {
		var m time.Time
		require.NoError(t, rows.Scan(&m))
		minutes = append(minutes, m.UTC())
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []time.Time{t0.Add(10 * time.Minute)}, minutes)
}

func TestWriteCreatesMissingPartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := telemetry.NewWriterWithConfig(pool, telemetry.WriterConfig{BatchRows: 5})
	old := time.Date(2025, 3, 30, 23, 59, 0, 0, time.UTC) // spans two days

	res, err := w.Write(ctx, &telemetry.SliceSource{Samples: samples(old, 3, 9)})
	require.NoError(t, err)
	require.EqualValues(t, 9, res.Accepted)
	parts, err := telemetry.ListPartitions(ctx, pool)
	require.NoError(t, err)
	var names []string
	for _, p := range parts {
		names = append(names, p.Name)
	}
	require.Contains(t, names, "host_metric_20250330")
	require.Contains(t, names, "host_metric_20250331")
}

func TestWriteConcurrentWritersOfTheSameSamplesStoreEachOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	w := telemetry.NewWriterWithConfig(pool, telemetry.WriterConfig{BatchRows: 500})
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-4 * time.Hour)
	all := samples(t0, 50, 3000)
	reversed := make([]telemetry.Sample, len(all))
	for i, s := range all {
		reversed[len(all)-1-i] = s
	}

	var wg sync.WaitGroup
	results := make([]telemetry.Result, 3)
	errs := make([]error, 3)
	for i, body := range [][]telemetry.Sample{all, reversed, all} {
		wg.Go(func() { results[i], errs[i] = w.Write(ctx, &telemetry.SliceSource{Samples: body}) })
	}
	wg.Wait()
	var total telemetry.Result
	for i := range results {
		require.NoError(t, errs[i])
		total.Accepted += results[i].Accepted
		total.Duplicates += results[i].Duplicates
	}
	require.Equal(t, telemetry.Result{Accepted: 3000, Duplicates: 6000}, total)
	require.EqualValues(t, 3000, count(t, pool, `SELECT count(*) FROM host_metric`))
}

func TestWriteReturnsCommittedCountsWhenCanceled(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	w := telemetry.NewWriterWithConfig(pool, telemetry.WriterConfig{BatchRows: 10})
	t0 := time.Now().UTC().Truncate(time.Minute).Add(-time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The source cancels the context after the first two batches were handed over.
	src := &cancelingSource{SliceSource: telemetry.SliceSource{Samples: samples(t0, 5, 100)}, after: 25, cancel: cancel}
	res, err := w.Write(ctx, src)
	require.ErrorIs(t, err, context.Canceled)
	stored := count(t, pool, `SELECT count(*) FROM host_metric`)
	require.Equal(t, stored, res.Accepted, "the result counts exactly what was committed")
	require.Less(t, stored, int64(100))
}

type cancelingSource struct {
	telemetry.SliceSource
	n, after int
	cancel   func()
}

func (c *cancelingSource) Next() bool {
	c.n++
	if c.n == c.after {
		c.cancel()
	}
	return c.SliceSource.Next()
}

func TestLatestByHostReturnsEachHostsNewestSampleSince(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	t0 := time.Date(2025, 6, 1, 23, 50, 0, 0, time.UTC)
	// Hosts 1..3, 10 minutes each, across midnight (two partitions).
	_, err := telemetry.NewWriter(pool).Write(ctx, &telemetry.SliceSource{Samples: samples(t0, 3, 30)})
	require.NoError(t, err)

	got, err := telemetry.LatestByHost(ctx, pool, []int64{1, 3, 4}, t0)
	require.NoError(t, err)
	require.Len(t, got, 2, "host 4 has no samples, host 2 was not asked for")
	require.True(t, got[1].TS.Equal(t0.Add(9*time.Minute)), "%s", got[1].TS)
	require.EqualValues(t, 1, got[1].HostID)
	require.InDelta(t, 27, *got[1].CPUPct, 0, "sample 27 is host 1's last")
	require.True(t, got[3].TS.Equal(t0.Add(9*time.Minute)))

	got, err = telemetry.LatestByHost(ctx, pool, []int64{1}, t0.Add(9*time.Minute))
	require.NoError(t, err)
	require.Empty(t, got, "nothing after since")
}
