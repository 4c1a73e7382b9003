package watermark

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
)

func TestWorstLevelIsTheClosestToItsThreshold(t *testing.T) {
	t.Parallel()
	ls := []Level{
		{Dimension: CPU, Utilization: 0.5, Threshold: 0.6},       // 0.83
		{Dimension: Memory, Utilization: 0.8, Threshold: 0.85},   // 0.94: the worst
		{Dimension: DiskIO, Utilization: 0.9, Threshold: 1.0},    // 0.90: higher, yet further from its threshold
		{Dimension: Containers, Utilization: 0.99, Threshold: 0}, // no threshold: never the worst
	}
	cl := worstOf(7, ls)
	require.Equal(t, Memory, cl.Worst.Dimension)
	require.Same(t, &cl.Levels[1], cl.Worst, "the worst is one of the levels")
	require.Nil(t, worstOf(7, []Level{}).Worst, "no levels, no worst")
	require.Equal(t, -1.0, Severity(nil))
}

// TestPlatformRanksClustersMostAtRiskFirst: clusters come by their worst level
// relative to its threshold (the kind's), equal ones in the order given, and
// clusters without levels last.
func TestPlatformRanksClustersMostAtRiskFirst(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := newFleet(t, pool)
	// Thresholds: STREAMING 0.60, BATCH 0.85.
	stream := f.cluster("stream", "STREAMING") // CPU 0.57/0.60 = 0.95
	batch := f.cluster("batch", "BATCH")       // memory 0.84/0.85 = 0.99
	calm := f.cluster("calm", "BATCH")         // CPU 0.17/0.85 = 0.2
	twin := f.cluster("twin", "BATCH")         // the same as calm
	empty := f.cluster("empty", "BATCH")       // no levels yet
	ctx := context.Background()
	ts := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	_, err := pool.Exec(ctx, `INSERT INTO watermark_latest (cluster_id, dimension, ts, used, capacity, hosts) VALUES
		($1, 'CPU', $6, 57, 100, 3), ($1, 'MEMORY', $6, 10, 100, 3),
		($2, 'CPU', $6, 10, 100, 3), ($2, 'MEMORY', $6, 84, 100, 3),
		($3, 'CPU', $6, 17, 100, 3), ($4, 'CPU', $6, 17, 100, 3), ($5, 'MEMORY', $6, 99, 100, 3)`,
		stream, batch, twin, calm, PlatformID, ts)
	require.NoError(t, err)
	svc := NewService(pool, nil, nil)

	got, err := svc.Platform(viewer(), []int64{calm, empty, twin, stream, batch}, nil)
	require.NoError(t, err)
	var order []int64
	for _, cl := range got {
		order = append(order, cl.ClusterID)
	}
	require.Equal(t, []int64{batch, stream, calm, twin, empty}, order)
	require.Equal(t, Memory, got[0].Worst.Dimension)
	require.Len(t, got[0].Levels, 2)
	require.Nil(t, got[4].Worst)
	require.Empty(t, got[4].Levels)

	// Dimensions narrow both the levels and the ranking.
	got, err = svc.Platform(viewer(), []int64{batch, stream}, []Dimension{CPU})
	require.NoError(t, err)
	require.Equal(t, stream, got[0].ClusterID)
	require.Len(t, got[0].Levels, 1)

	one, err := svc.Cluster(viewer(), batch)
	require.NoError(t, err)
	require.Equal(t, batch, one.ClusterID)
	require.Equal(t, Memory, one.Worst.Dimension)

	_, err = svc.Platform(context.Background(), []int64{batch}, nil)
	require.True(t, fault.Is(err, fault.Unauthenticated), "%v", err)
}
