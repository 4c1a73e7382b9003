package keepalive_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/keepalive"
)

// BenchmarkReconcile200k runs keep-alive passes over 200,000 components
// (200 clusters of 1,000 hosts, one component each, a fleet's mix of host
// states) with 1% of them stopped (1,440 of them on hosts keep-alive may touch) before each pass and 6,000 restarts already
// in the window: every pass reads all of them, restarts those (simulated
// restarter: one statement), records them and resolves alerts. Target: < 2 s a
// pass (docs/benchmarks.md, "Keep-alive reconcile").
func BenchmarkReconcile200k(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	fixture.Fleet200k(b, pool, "ONLINE", "ONLINE", "ONLINE", "ONLINE", "ONLINE", "ONLINE", "DEGRADED", "MAINTENANCE", "OFFLINE", "REPAIRING")
	for _, sql := range []string{
		`INSERT INTO host_component (host_id, service, component, version) SELECT id, 'YARN', 'NODEMANAGER', '3.2.0' FROM host`,
		`INSERT INTO component_restart (host_id, service, component, at, reason, outcome)
		 SELECT id, 'YARN', 'NODEMANAGER', now() - interval '30 minutes', 'earlier', 'SUCCEEDED' FROM host WHERE id % 100 IN (1, 2, 3) AND id % 10 < 7`,
		`VACUUM ANALYZE host, host_component, component_restart`,
	} {
		_, err := pool.Exec(ctx, sql)
		require.NoError(b, err)
	}
	clk := &clock{t: time.Now()}
	loop := keepalive.NewLoop(pool, keepalive.SimulatedRestarter{Now: clk.Now},
		keepalive.Config{Budget: 1_000_000, Window: time.Hour, Settle: time.Second, Now: clk.Now}, nil)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		_, err := pool.Exec(ctx, `UPDATE host_component SET actual_state = 'STOPPED' WHERE host_id % 97 = 1`)
		require.NoError(b, err)
		clk.add(time.Second)
		b.StartTimer()
		res, err := loop.RunOnce(ctx)
		require.NoError(b, err)
		// About 2,060 stopped, 70% of them on ONLINE or DEGRADED hosts.
		require.Greater(b, res.Drifting, 1400, "%+v", res)
		require.Equal(b, res.Drifting, res.Restarted, "%+v", res)
	}
}
