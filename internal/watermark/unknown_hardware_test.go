package watermark

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
)

// A host registered by hostname alone has 0 cores and 0 memory (unknown, since
// migration 0017) until its agent reports them; its samples must not turn a
// level into NaN or Infinity, nor divide by zero.
func TestRollupTakesHostsOfUnknownHardware(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := newFleet(t, pool)
	ctx := context.Background()
	f.cluster("fresh", "BATCH")
	f.host("fresh", "new-1", 0, 0, 0)
	f.write(sample{"new-1", m0.Add(5 * time.Second), 50, 40, 30, 100, 100, 3})

	_, err := newRollup(pool, m0.Add(5*time.Minute)).RunOnce(ctx)
	require.NoError(t, err)
	var levels, bad int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*),
		count(*) FILTER (WHERE used::float8 IN ('NaN', 'Infinity', '-Infinity') OR capacity::float8 IN ('NaN', 'Infinity', '-Infinity')
			OR p95::float8 IN ('NaN', 'Infinity', '-Infinity') OR max::float8 IN ('NaN', 'Infinity', '-Infinity'))
		FROM watermark_1m WHERE cluster_id = $1`, f.clusters["fresh"]).Scan(&levels, &bad))
	require.Positive(t, levels)
	require.Zero(t, bad)
	var cpuCap float64
	require.NoError(t, pool.QueryRow(ctx, `SELECT capacity FROM watermark_1m WHERE cluster_id = $1 AND dimension = 'CPU'`,
		f.clusters["fresh"]).Scan(&cpuCap))
	require.Zero(t, cpuCap, "unknown cores add no capacity")
}
