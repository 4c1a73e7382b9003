package telemetry_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/telemetry"
)

func TestPartitionsAreEnsuredListedAndDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	day := func(d int) time.Time { return time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC) }

	// Both ends are included, whatever the time of day and time zone.
	cst := time.FixedZone("CST", 8*3600)
	created, err := telemetry.EnsurePartitions(ctx, pool, time.Date(2025, 1, 1, 7, 0, 0, 0, cst), day(5).Add(23*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 6, created, "2024-12-31 (CST morning) through 2025-01-05")
	created, err = telemetry.EnsurePartitions(ctx, pool, day(1), day(5))
	require.NoError(t, err)
	require.Zero(t, created)

	res, err := telemetry.NewWriter(pool).Write(ctx, &telemetry.SliceSource{Samples: append(samples(day(2), 4, 8), samples(day(4), 4, 8)...)})
	require.NoError(t, err)
	require.EqualValues(t, 16, res.Accepted)
	_, err = pool.Exec(ctx, `ANALYZE host_metric_20250102`)
	require.NoError(t, err)

	parts, err := telemetry.ListPartitions(ctx, pool)
	require.NoError(t, err)
	require.Len(t, parts, 6)
	require.Equal(t, "host_metric_20241231", parts[0].Name)
	require.Equal(t, time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC), parts[0].Day)
	require.Equal(t, "host_metric_20250102", parts[2].Name)
	require.EqualValues(t, 8, parts[2].RowEstimate)
	require.EqualValues(t, -1, parts[3].RowEstimate, "never analysed")
	require.Positive(t, parts[2].Bytes)

	// A partition made by hand, without a day in its name, is neither listed nor
	// dropped.
	_, err = pool.Exec(ctx, `CREATE TABLE host_metric_manual PARTITION OF host_metric
		FOR VALUES FROM ('2020-01-01') TO ('2020-01-02')`)
	require.NoError(t, err)

	// Everything wholly before Jan 4 goes; Jan 4 and its rows stay.
	dropped, err := telemetry.DropPartitionsBefore(ctx, pool, day(4).Add(13*time.Hour), 0)
	require.NoError(t, err)
	require.Equal(t, []string{"host_metric_20241231", "host_metric_20250101", "host_metric_20250102", "host_metric_20250103"}, dropped)
	parts, err = telemetry.ListPartitions(ctx, pool)
	require.NoError(t, err)
	require.Len(t, parts, 2)
	require.Equal(t, day(4), parts[0].Day)
	require.EqualValues(t, 8, count(t, pool, `SELECT count(*) FROM host_metric`))
	require.EqualValues(t, 0, count(t, pool, `SELECT count(*) FROM pg_class WHERE relname = 'host_metric_20250102'`))
	require.EqualValues(t, 1, count(t, pool, `SELECT count(*) FROM pg_inherits WHERE inhrelid = 'host_metric_manual'::regclass`))

	dropped, err = telemetry.DropPartitionsBefore(ctx, pool, day(4), 0)
	require.NoError(t, err)
	require.Empty(t, dropped)
}

// A drop waiting behind a long reader of host_metric gives up after its lock
// timeout instead of queueing every ingest behind it, and leaves the partition
// attached.
func TestDropPartitionsBeforeGivesUpOnALockedTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	_, err := telemetry.EnsurePartitions(ctx, pool, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)

	reader, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer reader.Rollback(ctx) //nolint:errcheck
	_, err = reader.Exec(ctx, `SELECT count(*) FROM host_metric`)
	require.NoError(t, err)

	began := time.Now()
	dropped, err := telemetry.DropPartitionsBefore(ctx, pool, time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC), 200*time.Millisecond)
	require.ErrorContains(t, err, "lock timeout")
	require.Less(t, time.Since(began), 5*time.Second)
	require.Empty(t, dropped)
	require.NoError(t, reader.Rollback(ctx))

	parts, err := telemetry.ListPartitions(ctx, pool)
	require.NoError(t, err)
	require.Len(t, parts, 2, "still attached")
	dropped, err = telemetry.DropPartitionsBefore(ctx, pool, time.Date(2025, 1, 3, 0, 0, 0, 0, time.UTC), 200*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, dropped, 2)
}
