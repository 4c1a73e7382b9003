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

// TestPutRunsReplacesARunWhole: a running run has no end and no totals (NULL,
// not the stand-ins PutRuns sends), and its completion replaces them; LoadRuns
// refuses a run already stored.
func TestPutRunsReplacesARunWhole(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fleet := fixture.New(t, pool)
	ctx := context.Background()
	jobs, err := workload.PutJobs(ctx, pool, []workload.JobSpec{{Namespace: "c", Name: "j", OwnerID: fleet.People[fixture.Viewer],
		Kind: "BATCH", Priority: "P1", Schedule: "5 * * * *"}})
	require.NoError(t, err)
	job := jobs[[2]string{"c", "j"}]
	var owner int64
	var bu *int64
	var priority, schedule string
	require.NoError(t, pool.QueryRow(ctx, `SELECT owner_id, bu_id, priority, schedule FROM job WHERE id = $1`, job).Scan(&owner, &bu, &priority, &schedule))
	require.Equal(t, fleet.People[fixture.Viewer], owner)
	require.Nil(t, bu, "0 is no BU")
	require.Equal(t, "P1", priority)
	require.Equal(t, "5 * * * *", schedule)

	t0 := time.Date(2026, 3, 10, 1, 0, 0, 0, time.UTC)
	run := workload.RunRecord{JobID: job, RunUUID: pgtype.UUID{Bytes: [16]byte{7}, Valid: true}, State: "RUNNING",
		StateAt: t0, QueuedAt: t0.Add(-time.Minute), StartedAt: t0, NominalStart: t0, NominalEnd: t0.Add(time.Hour),
		Attempts: 1, QueueWaitSeconds: 60}
	ids, err := workload.PutRuns(ctx, pool, []workload.RunRecord{run})
	require.NoError(t, err)
	var state string
	var ended *time.Time
	var used *float64
	var tasks *int32
	load := func() {
		t.Helper()
		require.NoError(t, pool.QueryRow(ctx, `SELECT state, ended_at, used_core_seconds, task_count FROM job_run WHERE id = $1`, ids[0]).
			Scan(&state, &ended, &used, &tasks))
	}
	load()
	require.Equal(t, "RUNNING", state)
	require.Nil(t, ended)
	require.Nil(t, used)
	require.Nil(t, tasks)

	end := t0.Add(20 * time.Minute)
	run.State, run.StateAt, run.EndedAt = "COMPLETED", end, &end
	run.Totals = &workload.RunTotals{RequestedCoreSeconds: 100, UsedCoreSeconds: 40, RequestedMemoryByteSeconds: 1e9,
		UsedMemoryByteSeconds: 5e8, PeakMemoryBytes: 1 << 20, TaskCount: 12, TaskSecondsMin: 1, TaskSecondsP50: 2, TaskSecondsMax: 3}
	again, err := workload.PutRuns(ctx, pool, []workload.RunRecord{run})
	require.NoError(t, err)
	require.Equal(t, ids, again, "the same run")
	load()
	require.Equal(t, "COMPLETED", state)
	require.True(t, ended.Equal(end))
	require.InDelta(t, 40, *used, 1e-9)
	require.Equal(t, int32(12), *tasks)

	_, err = workload.LoadRuns(ctx, pool, []workload.RunRecord{run})
	require.Error(t, err, "COPY refuses a run already stored")
}
