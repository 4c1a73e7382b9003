package aquila_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// The stage counts read for many operations at once (the GraphQL loader's
// StagesByOperations) are each stage's tasks by state, through a run with
// failures, a pause, a resume and a retry, and agree with Progress.
func TestStageCountsFollowARunWithFailuresAndRetries(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	a, hostsA := cluster(t, pool, 20)
	var b int64
	require.NoError(t, pool.QueryRow(context.Background(), `INSERT INTO cluster (name, region, kind) VALUES ('other', 'us-west', 'BATCH') RETURNING id`).Scan(&b))
	_, err := pool.Exec(context.Background(), `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		SELECT $1, 'other-' || h, 8, 1 << 30, 1e12, 1e9 FROM generate_series(1, 8) h`, b)
	require.NoError(t, err)
	_, err = pool.Exec(context.Background(), `INSERT INTO host_component (host_id, service, component, version)
		SELECT id, 'YARN', 'NODEMANAGER', '3.2.0' FROM host WHERE cluster_id = $1`, b)
	require.NoError(t, err)
	exec := newCountingExecutor()
	// Three hosts of a's first batch fail; the budget is one.
	exec.setFail(hostsA[0], hostsA[1], hostsA[2])
	e, _ := startEngine(t, pool, exec, testConfig())
	svc := newService(pool, e)
	ctx := operatorCtx()

	opA, err := svc.Submit(ctx, restartReq(a, 25, 25, 1))
	require.NoError(t, err)
	opB, err := svc.Submit(ctx, restartReq(b, 50, 50, 0))
	require.NoError(t, err)
	ids := []int64{opA.ID, opB.ID}

	// check compares the counts of both operations with the tasks as stored
	// and with Progress, and returns a's per stage.
	check := func() []map[aquila.TaskState]int {
		t.Helper()
		m, err := svc.StagesByOperations(ctx, ids)
		require.NoError(t, err)
		for _, id := range ids {
			rows, err := pool.Query(context.Background(), `SELECT s.position, t.state, count(*)::int
				FROM operation_task t JOIN operation_stage s ON s.id = t.stage_id WHERE t.operation_id = $1 GROUP BY 1, 2`, id)
			require.NoError(t, err)
			want := map[int]map[aquila.TaskState]int{}
			for rows.Next() {
				var pos, n int
				var st aquila.TaskState
				require.NoError(t, rows.Scan(&pos, &st, &n))
				if want[pos] == nil {
					want[pos] = map[aquila.TaskState]int{}
				}
				want[pos][st] = n
			}
			require.NoError(t, rows.Err())
			require.Len(t, m[id], len(want), "operation %d", id)
			for i, st := range m[id] {
				require.Equal(t, i+1, st.Position, "stages in order")
				require.Equal(t, want[st.Position], st.Tasks, "operation %d stage %d", id, st.Position)
			}
			pr, err := svc.Progress(ctx, id)
			require.NoError(t, err)
			require.Equal(t, m[id], pr.Stages)
		}
		out := make([]map[aquila.TaskState]int, len(m[opA.ID]))
		for i, st := range m[opA.ID] {
			out[i] = st.Tasks
		}
		return out
	}

	waitState(t, svc, opA.ID, aquila.Paused)
	waitFor(t, "the claimed tasks to be recorded", func() bool { return taskStates(t, pool, opA.ID)["RUNNING"] == 0 })
	waitState(t, svc, opB.ID, aquila.Succeeded)
	a1 := check()
	require.Len(t, a1, 4)
	require.Equal(t, 3, a1[0][aquila.TaskFailed], "paused in the first stage with its three failures")
	require.Equal(t, 0, a1[0][aquila.TaskPending]+a1[0][aquila.TaskRunning])
	require.NotZero(t, a1[3][aquila.TaskPending])
	require.Len(t, a1[3], 1, "the last stage has not started: %v", a1[3])

	_, err = svc.Resume(ctx, opA.ID)
	require.NoError(t, err)
	waitState(t, svc, opA.ID, aquila.Failed)
	a2 := check()
	require.Equal(t, 3, a2[0][aquila.TaskFailed])
	for _, st := range a2[1:] {
		require.Zero(t, st[aquila.TaskFailed]+st[aquila.TaskPending]+st[aquila.TaskRunning], "%v", st)
	}

	exec.setFail()
	_, err = svc.RetryFailedTasks(ctx, opA.ID)
	require.NoError(t, err)
	waitState(t, svc, opA.ID, aquila.Succeeded)
	a3 := check()
	var total int
	for i, st := range a3 {
		require.Zero(t, st[aquila.TaskFailed]+st[aquila.TaskPending]+st[aquila.TaskRunning], "stage %d: %v", i+1, st)
		total += st[aquila.TaskSucceeded] + st[aquila.TaskSkipped]
	}
	require.Equal(t, 20, total, "every host's task counted once")
	require.Equal(t, a2[0][aquila.TaskSucceeded]+3, a3[0][aquila.TaskSucceeded], "the retried tasks moved from FAILED to SUCCEEDED")
}
