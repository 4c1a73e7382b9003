package workload_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/workload"
)

// TestQueueFindings: a queue with apps pending under its guarantee is
// STARVED, one far under its guarantee IDLE, one where a job uses most of it
// HOARDED; a queue used as planned has none of them.
func TestQueueFindings(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fleet := fixture.New(t, pool)
	ctx := context.Background()
	cluster := fleet.Clusters["batch-wh-1"]
	var capacity float64
	require.NoError(t, pool.QueryRow(ctx, `SELECT sum(cpu_cores) FROM cluster_host_stats WHERE cluster_id = $1 AND state IN ('ONLINE', 'DEGRADED')`, cluster).Scan(&capacity))
	require.Positive(t, capacity)
	spec := func(path string, g float64) workload.QueueSpec {
		return workload.QueueSpec{Path: path, SchedulerType: workload.SchedulerCapacity, GuaranteedVcores: g, MaxVcores: 1, GuaranteedMemory: g, MaxMemory: 1, Weight: 1}
	}
	q, err := workload.UpsertQueues(ctx, pool, cluster, []workload.QueueSpec{spec("root", 1), spec("root.starved", 0.5), spec("root.idle", 0.5), spec("root.fine", 0.5)})
	require.NoError(t, err)

	now := time.Now().UTC().Truncate(time.Minute)
	var samples []workload.QueueSample
	for h := 1; h <= 24; h++ {
		ts := now.Add(-time.Duration(h) * time.Hour)
		samples = append(samples,
			workload.QueueSample{QueueID: q["root.starved"], TS: ts, UsedVcores: 0.1 * capacity, PendingApps: 3},
			workload.QueueSample{QueueID: q["root.idle"], TS: ts, UsedVcores: 0.05 * capacity},
			workload.QueueSample{QueueID: q["root.fine"], TS: ts, UsedVcores: 0.6 * capacity, PendingApps: 2})
	}
	_, err = workload.RecordQueueUsage(ctx, pool, samples)
	require.NoError(t, err)
	ids := jobIDs(t, pool, "big", "small")
	_, err = pool.Exec(ctx, `UPDATE job SET queue_id = $1 WHERE id = ANY($2)`, q["root.fine"], ids)
	require.NoError(t, err)
	hour := now.Truncate(time.Hour).Add(-2 * time.Hour)
	require.NoError(t, workload.UpsertJobUsage(ctx, pool, []workload.UsageHour{
		{JobID: ids[0], Hour: hour, UsedCoreSeconds: 9 * 3600}, {JobID: ids[1], Hour: hour, UsedCoreSeconds: 3600}}))

	svc := workload.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)), workload.Config{})
	viewer := as(ctx, fleet.People[fixture.Viewer], auth.Viewer)
	severities := func(queue string) map[string]workload.Severity {
		fs, err := svc.QueueFindings(viewer, q[queue])
		require.NoError(t, err)
		out := map[string]workload.Severity{}
		for _, f := range fs {
			out[f.Heuristic] = f.Severity
			require.NotEmpty(t, f.Advice)
			require.NotEmpty(t, f.Evidence)
		}
		return out
	}
	starved := severities("root.starved")
	require.Equal(t, workload.SeverityCritical, starved[workload.HeuristicStarved])
	idle := severities("root.idle")
	require.Equal(t, workload.SeverityCritical, idle[workload.HeuristicIdle])
	require.Equal(t, workload.SeverityNone, idle[workload.HeuristicStarved])
	fine := severities("root.fine")
	require.Equal(t, workload.SeverityNone, fine[workload.HeuristicStarved], "pending while over the guarantee is fair")
	require.Equal(t, workload.SeverityNone, fine[workload.HeuristicIdle])
	require.Equal(t, workload.SeverityCritical, fine[workload.HeuristicHoarded], "one job used 90%")

	fs, err := svc.QueueFindings(viewer, q["root.fine"])
	require.NoError(t, err)
	require.Equal(t, workload.HeuristicHoarded, fs[0].Heuristic, "worst first")
	require.Contains(t, fs[0].Advice, "Job etl/big used 90% of the queue's 10 core-hours")

	_, err = svc.QueueFindings(viewer, 999999)
	require.True(t, fault.Is(err, fault.NotFound), "%v", err)
	_, err = svc.QueueFindings(ctx, q["root.fine"])
	require.True(t, fault.Is(err, fault.Unauthenticated), "%v", err)
}
