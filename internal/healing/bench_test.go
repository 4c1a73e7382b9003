package healing_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/healing"
)

// BenchmarkHealingPass200k runs a healing pass over a fleet of 200 clusters of
// 1,000 hosts (200,000) of which 1% are sick (seen by an earlier pass) (silent, a component keep-alive
// gave up on, or a critical anomaly), spread over every cluster: the pass
// finds them in one statement, checks each cluster's budget and minimum
// capacity, and submits one SELF_HEAL per cluster (insert-only engine), silent streaming hosts handed to people (a ticket each). Each
// iteration starts from no healing (docs/benchmarks.md, "Self-healing pass").
func BenchmarkHealingPass200k(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	fixture.Fleet200k(b, pool, "ONLINE", "ONLINE", "ONLINE", "ONLINE", "ONLINE", "ONLINE", "DEGRADED", "MAINTENANCE", "ONLINE", "ONLINE")
	for _, sql := range []string{
		`UPDATE host SET last_heartbeat = now() - interval '1 hour' WHERE id % 293 = 0`,
		`INSERT INTO host_component (host_id, service, component, version, actual_state)
		 SELECT id, 'YARN', 'NODEMANAGER', '3.2.0', CASE WHEN id % 293 = 100 THEN 'FAILED' ELSE 'STARTED' END FROM host`,
		`INSERT INTO keepalive_alert (host_id, cluster_id, service, component, raised_at, restarts, window_seconds, message)
		 SELECT id, cluster_id, 'YARN', 'NODEMANAGER', now(), 3, 3600, 'gave up' FROM host WHERE id % 293 = 100`,
		`INSERT INTO anomaly_episode (host_id, cluster_id, metric, kind, status, severity, started_at, last_seen_at, peak_score, peak_at)
		 SELECT id, cluster_id, 'CPU', 'SELF', 'OPEN', 'CRITICAL', now(), now(), 9, now() FROM host WHERE id % 293 = 200`,
		`VACUUM ANALYZE host, host_component, keepalive_alert, anomaly_episode`,
	} {
		_, err := pool.Exec(ctx, sql)
		require.NoError(b, err)
	}
	engine := insertOnly(b, pool)
	h := healing.NewHealer(pool, engine, healing.Config{}, quiet)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		// Every sick host was seen by an earlier pass, so streaming and online
		// clusters are past their confirmation too: every cluster heals.
		for _, sql := range []string{`DELETE FROM healing_attempt`, `DELETE FROM healing_wait`, `DELETE FROM operation`, `DELETE FROM river_job`,
			`DELETE FROM repair_ticket`, `UPDATE host SET state = 'ONLINE', state_reason = '' WHERE state = 'REPAIRING'`,
			`INSERT INTO healing_wait (host_id, cluster_id, signals, reason, since, updated_at)
			 SELECT id, cluster_id, '{}', 'seen', now() - interval '1 hour', now() FROM host WHERE id % 293 IN (0, 100, 200)`} {
			_, err := pool.Exec(ctx, sql)
			require.NoError(b, err)
		}
		b.StartTimer()
		res, err := h.RunOnce(ctx)
		require.NoError(b, err)
		require.Greater(b, res.Sick, 600, "%+v", res)
		// Streaming clusters whose only sick hosts are silent hand them to
		// people (no reboot): no operation there.
		require.GreaterOrEqual(b, res.Operations, 150, "%+v", res)
		require.Positive(b, res.HandedOver)
	}
}
