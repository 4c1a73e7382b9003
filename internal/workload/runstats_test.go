package workload_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/workload"
)

// TestRunStatsReplaceTotalsKeepUnreportedAndNeverLowerAttemptsOrPeak, and a
// terminal event that carries its start.
func TestRunStatsReplaceTotalsKeepUnreportedAndNeverLowerAttemptsOrPeak(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fleet := fixture.New(t, pool)
	ctx := context.Background()
	jobs, err := workload.UpsertJobs(ctx, pool, []workload.JobKey{{Namespace: "yarn:c", Name: "u/j"}})
	require.NoError(t, err)
	job := jobs[[2]string{"yarn:c", "u/j"}]
	start := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	run := pgtype.UUID{Bytes: [16]byte{1}, Valid: true}
	ids, err := workload.ApplyRunEvents(ctx, pool, []workload.RunEvent{
		{JobID: job, RunUUID: run, State: "COMPLETED", Time: start.Add(time.Hour), StartedAt: &start}})
	require.NoError(t, err)
	r, err := workload.LoadRun(ctx, pool, ids[0])
	require.NoError(t, err)
	require.Equal(t, "COMPLETED", r.State)
	require.True(t, start.Equal(*r.StartedAt))
	require.True(t, start.Add(time.Hour).Equal(*r.EndedAt))

	n, err := workload.SetRunStats(ctx, pool, []workload.RunStats{{JobID: job, RunID: ids[0], Attempts: ptr(int32(3)),
		RequestedCoreSeconds: ptr(100.0), PeakMemoryBytes: ptr(int64(1 << 30)), TaskCount: ptr(int32(7)), QueuedAt: &start}})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	// The same report again changes nothing; a lower attempt count or peak is
	// ignored; an unreported field keeps its value; a total is replaced.
	n, err = workload.SetRunStats(ctx, pool, []workload.RunStats{{JobID: job, RunID: ids[0], Attempts: ptr(int32(3)),
		RequestedCoreSeconds: ptr(100.0), PeakMemoryBytes: ptr(int64(1 << 30)), TaskCount: ptr(int32(7)), QueuedAt: &start}})
	require.NoError(t, err)
	require.Zero(t, n)
	n, err = workload.SetRunStats(ctx, pool, []workload.RunStats{{JobID: job, RunID: ids[0], Attempts: ptr(int32(1)),
		RequestedCoreSeconds: ptr(150.0), PeakMemoryBytes: ptr(int64(1 << 20))}})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	r, err = workload.LoadRun(ctx, pool, ids[0])
	require.NoError(t, err)
	require.EqualValues(t, 3, r.Attempts)
	require.Equal(t, 150.0, *r.RequestedCoreSeconds)
	require.EqualValues(t, 1<<30, *r.PeakMemoryBytes)
	require.EqualValues(t, 7, *r.TaskCount)
	require.Nil(t, r.UsedCoreSeconds)
	_, err = workload.SetRunStats(ctx, pool, []workload.RunStats{{JobID: job, RunID: ids[0], Attempts: ptr(int32(0))}})
	require.ErrorContains(t, err, "0 attempts")

	// Placement: a nil queue keeps the stored one.
	cluster := fleet.Clusters["batch-wh-1"]
	qs, err := workload.UpsertQueues(ctx, pool, cluster, []workload.QueueSpec{{Path: "root", SchedulerType: workload.SchedulerFIFO, MaxVcores: 1, MaxMemory: 1, Weight: 1}})
	require.NoError(t, err)
	root := qs["root"]
	n, err = workload.PlaceJobs(ctx, pool, []workload.JobPlacement{{JobID: job, ClusterID: cluster, QueueID: &root}})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	n, err = workload.PlaceJobs(ctx, pool, []workload.JobPlacement{{JobID: job, ClusterID: cluster}})
	require.NoError(t, err)
	require.Zero(t, n)
	j, err := workload.LoadJobs(ctx, pool, []int64{job})
	require.NoError(t, err)
	require.Equal(t, root, *j[job].QueueID)
	require.Equal(t, cluster, *j[job].ClusterID)
}
