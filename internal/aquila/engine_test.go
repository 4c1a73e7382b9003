package aquila_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
)

func TestRestartRunsEveryTaskOnceAndSkipsMaintenance(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, hosts := cluster(t, pool, 20)
	exec := newCountingExecutor()
	e, _ := startEngine(t, pool, exec, testConfig())
	svc := newService(pool, e)

	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 25, 25, 0))
	require.NoError(t, err)
	require.Equal(t, aquila.Pending, op.State)
	require.Equal(t, len(hosts), op.TasksTotal)

	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 16, op.TasksSucceeded)
	require.Equal(t, 4, op.TasksSkipped, "hosts in MAINTENANCE are skipped")
	require.Zero(t, op.TasksFailed)

	runs := exec.runsOf()
	require.Len(t, runs, 16)
	for id, n := range runs {
		require.Equal(t, 1, n, "task %d ran %d times", id, n)
	}
	skipped := taskIDs(t, pool, op.ID, `h.state = 'MAINTENANCE' AND t.state = 'SKIPPED'`)
	require.Len(t, skipped, 4)
	for _, id := range skipped {
		require.NotContains(t, runs, id)
	}

	pr, err := svc.Progress(operatorCtx(), op.ID)
	require.NoError(t, err)
	require.Len(t, pr.Stages, 4, "16 hosts in service, 5 (25%% of 20) at a time")
	for _, s := range pr.Stages {
		require.Equal(t, "SUCCEEDED", s.State)
		require.LessOrEqual(t, s.Tasks[aquila.TaskSucceeded], 5)
	}
	require.NotEmpty(t, pr.Events)
	require.Equal(t, "operation SUCCEEDED", pr.Events[0].Message)

	var audited int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'startOperation'`).Scan(&audited))
	require.Equal(t, 1, audited)
}

func TestSecondDisruptiveOperationConflictsNamingTheFirst(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, _ := cluster(t, pool, 10)
	e, err := aquila.NewEngine(pool, aquila.ZeroExecutor{}, quiet, testConfig()) // never started: the first stays PENDING
	require.NoError(t, err)
	svc := newService(pool, e)
	first, err := svc.Submit(operatorCtx(), restartReq(clusterID, 10, 10, 0))
	require.NoError(t, err)

	_, err = svc.Submit(operatorCtx(), restartReq(clusterID, 10, 10, 0))
	require.True(t, fault.Is(err, fault.Conflict), "got %v", err)
	require.Contains(t, err.Error(), "operation "+itoa(first.ID)+" (RESTART, PENDING)")

	// Once the first is aborted the cluster is free again.
	_, err = svc.Abort(operatorCtx(), first.ID)
	require.NoError(t, err)
	second, err := svc.Submit(operatorCtx(), restartReq(clusterID, 10, 10, 0))
	require.NoError(t, err)

	// The cluster's operations, newest first, a page at a time.
	page, err := svc.ClusterOperations(operatorCtx(), clusterID, 0, 1)
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, second.ID, page[0].ID)
	page, err = svc.ClusterOperations(operatorCtx(), clusterID, page[0].ID, 100)
	require.NoError(t, err)
	require.Len(t, page, 1)
	require.Equal(t, first.ID, page[0].ID)
	require.Equal(t, aquila.Aborted, page[0].State)
	byID, err := svc.OperationsByIDs(operatorCtx(), []int64{first.ID, second.ID, 999})
	require.NoError(t, err)
	require.Len(t, byID, 2)
}

func TestOutOfServiceShareIsEnforced(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, hosts := cluster(t, pool, 10)
	e, err := aquila.NewEngine(pool, aquila.ZeroExecutor{}, quiet, testConfig())
	require.NoError(t, err)
	plan := aquila.Plan{Kind: aquila.KindRestart, ClusterID: clusterID, RequestedBy: "ops", MaxOutOfServicePct: 20,
		Stages: []aquila.PlanStage{{Name: "all at once"}}}
	for _, h := range hosts {
		plan.Stages[0].Tasks = append(plan.Stages[0].Tasks, aquila.PlanTask{HostID: h, Action: aquila.ActionRestart})
	}
	_, err = e.Submit(context.Background(), nil, plan)
	require.True(t, fault.Is(err, fault.Invalid), "got %v", err)
	require.Contains(t, err.Error(), "at most 20% of the cluster's 10 hosts (2)")

	// The planner cuts batches within the share: 5% of 10 hosts rounds to one.
	svc := newService(pool, e)
	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 50, 5, 0))
	require.NoError(t, err)
	pr, err := svc.Progress(operatorCtx(), op.ID)
	require.NoError(t, err)
	require.Len(t, pr.Stages, 8, "8 hosts in service, one at a time")
}

func TestFailureBudgetPausesResumeContinuesAndRetryRerunsOnlyFailed(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, hosts := cluster(t, pool, 20)
	exec := newCountingExecutor()
	// Three hosts of the first batch (hostname order) fail; the budget is one.
	exec.setFail(hosts[0], hosts[1], hosts[2])
	e, _ := startEngine(t, pool, exec, testConfig())
	svc := newService(pool, e)

	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 25, 25, 1))
	require.NoError(t, err)
	op = waitState(t, svc, op.ID, aquila.Paused)
	// Batches claimed side by side may record after the pause: wait for them.
	waitFor(t, "the claimed tasks to be recorded", func() bool { return taskStates(t, pool, op.ID)["RUNNING"] == 0 })
	op = waitState(t, svc, op.ID, aquila.Paused)
	require.Equal(t, 3, op.TasksFailed)
	require.Equal(t, 1, op.CurrentStage, "paused in the stage that failed")
	pr, err := svc.Progress(operatorCtx(), op.ID)
	require.NoError(t, err)
	var paused bool
	for _, ev := range pr.Events {
		paused = paused || strings.Contains(ev.Message, "hosts failed, more than the failure budget of 1")
	}
	require.True(t, paused, "the pause is in the log: %+v", pr.Events)

	// Resume: the operation goes on with the later stages and ends FAILED,
	// because three tasks did.
	_, err = svc.Resume(operatorCtx(), op.ID)
	require.NoError(t, err)
	op = waitState(t, svc, op.ID, aquila.Failed)
	require.Equal(t, 13, op.TasksSucceeded)
	require.Equal(t, 3, op.TasksFailed)

	// The hosts are repaired; a retry runs the three failed tasks only.
	exec.setFail()
	before := exec.runsOf()
	_, err = svc.RetryFailedTasks(operatorCtx(), op.ID)
	require.NoError(t, err)
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 16, op.TasksSucceeded)
	require.Zero(t, op.TasksFailed)
	after := exec.runsOf()
	var rerun int
	for id, n := range after {
		if n != before[id] {
			require.Equal(t, before[id]+1, n)
			rerun++
		}
	}
	require.Equal(t, 3, rerun)
	var attempts int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT max(attempts) FROM operation_task WHERE operation_id = $1`, op.ID).Scan(&attempts))
	require.Equal(t, 2, attempts, "a retried task runs under a new attempt, hence a new idempotency key")
}

func TestAbortStopsPendingTasks(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, _ := cluster(t, pool, 20)
	exec := newCountingExecutor()
	exec.gate = make(chan struct{})
	e, _ := startEngine(t, pool, exec, testConfig())
	svc := newService(pool, e)
	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 25, 25, 0))
	require.NoError(t, err)
	waitFor(t, "tasks to run", func() bool { return taskStates(t, pool, op.ID)["RUNNING"] > 0 })

	_, err = svc.Abort(operatorCtx(), op.ID)
	require.NoError(t, err)
	close(exec.gate) // the running tasks finish and are recorded
	waitFor(t, "running tasks to finish", func() bool { return taskStates(t, pool, op.ID)["RUNNING"] == 0 })
	op = waitState(t, svc, op.ID, aquila.Aborted)
	states := taskStates(t, pool, op.ID)
	require.Positive(t, states["ABORTED"])
	require.LessOrEqual(t, states["SUCCEEDED"], 5, "only the first batch ran")
	require.Len(t, exec.runsOf(), states["SUCCEEDED"])

	_, err = svc.Resume(operatorCtx(), op.ID)
	require.True(t, fault.Is(err, fault.Conflict), "an aborted operation cannot be resumed: %v", err)
}

func TestEngineCrashMidOperationResumesWithoutRunningATaskTwice(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, _ := cluster(t, pool, 40)
	exec := newCountingExecutor()
	exec.gate = make(chan struct{}, 1000)
	for range 10 {
		exec.gate <- struct{}{}
	}
	first, err := aquila.NewEngine(pool, exec, quiet, testConfig())
	require.NoError(t, err)
	ctx, crash := context.WithCancel(context.Background())
	require.NoError(t, first.Start(ctx))
	svc := newService(pool, first)
	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 25, 25, 0))
	require.NoError(t, err)
	// Ten tasks run, then the executor blocks with tasks claimed: the process
	// "dies" (its context ends; nothing is cleaned up).
	waitFor(t, "ten executions", func() bool { return len(exec.runsOf()) == 10 })
	waitFor(t, "claimed tasks", func() bool { return taskStates(t, pool, op.ID)["RUNNING"] > 0 })
	crash()
	stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	_ = first.Stop(stopCtx)
	stop()
	require.NotEqual(t, aquila.Succeeded, waitStateNow(t, svc, op.ID))

	close(exec.gate)
	second, _ := startEngine(t, pool, exec, testConfig())
	svc = newService(pool, second)
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 32, op.TasksSucceeded)
	runs := exec.runsOf()
	require.Len(t, runs, 32)
	for id, n := range runs {
		require.Equal(t, 1, n, "task %d ran %d times", id, n)
	}
}

func waitStateNow(t *testing.T, svc *aquila.Service, id int64) aquila.State {
	op, err := svc.Operation(operatorCtx(), id)
	require.NoError(t, err)
	return op.State
}

func TestTwoEnginesShareOneOperation(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, _ := cluster(t, pool, 200)
	exec := newCountingExecutor()
	exec.delay = 10 * time.Millisecond
	cfg := testConfig()
	// Four jobs per stage, each replica holding at most two, and slow enough
	// batches that one replica cannot drain a stage before the other fetches.
	cfg.Workers, cfg.TaskConcurrency = 2, 1
	a, _ := startEngine(t, pool, exec.as("a"), cfg)
	_, _ = startEngine(t, pool, exec.as("b"), cfg)
	svc := newService(pool, a)
	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 50, 50, 0))
	require.NoError(t, err)
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 160, op.TasksSucceeded)
	runs := exec.runsOf()
	require.Len(t, runs, 160)
	for id, n := range runs {
		require.Equal(t, 1, n, "task %d ran %d times", id, n)
	}
	exec.mu.Lock()
	defer exec.mu.Unlock()
	t.Logf("executions by replica: %v", exec.by)
	require.Positive(t, exec.by["a"])
	require.Positive(t, exec.by["b"])
}

// inversePlanner is an UPGRADE planner whose inverse downgrades every host
// it touched, to test the rollback path.
type inversePlanner struct{ hosts []int64 }

func (inversePlanner) Kind() aquila.Kind { return aquila.KindUpgrade }

func (p inversePlanner) Plan(_ context.Context, _ db.DBTX, req aquila.Request) (*aquila.Plan, error) {
	plan := &aquila.Plan{Kind: aquila.KindUpgrade, ClusterID: req.ClusterID, RequestedBy: req.RequestedBy, MaxOutOfServicePct: 100}
	st := aquila.PlanStage{Name: "upgrade"}
	for _, h := range p.hosts {
		tp, _ := json.Marshal(aquila.ServiceParams{Service: "YARN", Version: "3.3.0"})
		st.Tasks = append(st.Tasks, aquila.PlanTask{HostID: h, Action: "UPGRADE", Params: tp})
	}
	plan.Stages = []aquila.PlanStage{st}
	return plan, nil
}

func (p inversePlanner) Inverse(context.Context, db.DBTX, *aquila.Operation) ([]aquila.PlanStage, error) {
	st := aquila.PlanStage{Name: "downgrade"}
	for _, h := range p.hosts {
		tp, _ := json.Marshal(aquila.ServiceParams{Service: "YARN", Version: "3.2.0"})
		st.Tasks = append(st.Tasks, aquila.PlanTask{HostID: h, Action: "UPGRADE", Params: tp})
	}
	return []aquila.PlanStage{st}, nil
}

func TestRollback(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, hosts := cluster(t, pool, 5)
	exec := aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: time.Millisecond, Seed: 1})
	e, _ := startEngine(t, pool, exec, testConfig())
	svc := newService(pool, e)

	// A RESTART has no inverse.
	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 20, 20, 0))
	require.NoError(t, err)
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	_, err = svc.Rollback(operatorCtx(), op.ID)
	require.True(t, fault.Is(err, fault.Invalid), "got %v", err)
	require.Contains(t, err.Error(), "a RESTART cannot be rolled back")

	// An upgrade is undone by its planner's inverse; the simulated fleet
	// moves the components' versions both ways.
	svc.RegisterPlanner(inversePlanner{hosts: hosts[:2]})
	op, err = svc.Submit(operatorCtx(), aquila.Request{Kind: aquila.KindUpgrade, ClusterID: clusterID})
	require.NoError(t, err)
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, []string{"3.3.0", "3.3.0"}, versions(t, pool, hosts[:2]))
	_, err = svc.Rollback(operatorCtx(), op.ID)
	require.NoError(t, err)
	op = waitState(t, svc, op.ID, aquila.RolledBack)
	require.True(t, op.RollingBack)
	require.Equal(t, []string{"3.2.0", "3.2.0"}, versions(t, pool, hosts[:2]))
}

func versions(t *testing.T, pool *pgxpool.Pool, hosts []int64) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT version FROM host_component WHERE host_id = ANY($1) ORDER BY host_id`, hosts)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestActingNeedsOperator(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, _ := cluster(t, pool, 10)
	e, err := aquila.NewEngine(pool, aquila.ZeroExecutor{}, quiet, testConfig())
	require.NoError(t, err)
	svc := newService(pool, e)
	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 10, 10, 0))
	require.NoError(t, err)

	viewer := auth.WithPrincipal(context.Background(), &auth.Principal{Login: "alice", Role: auth.Viewer, Method: auth.MethodToken})
	_, err = svc.Submit(viewer, restartReq(clusterID, 10, 10, 0))
	require.True(t, fault.Is(err, fault.Forbidden), "got %v", err)
	_, err = svc.Pause(viewer, op.ID)
	require.True(t, fault.Is(err, fault.Forbidden), "got %v", err)
	_, err = svc.Progress(viewer, op.ID)
	require.NoError(t, err, "viewers follow operations")
	_, err = svc.Progress(context.Background(), op.ID)
	require.True(t, fault.Is(err, fault.Unauthenticated), "got %v", err)

	var denied int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'pauseOperation'`).Scan(&denied))
	require.Equal(t, 0, denied, "a refused role check happens before the audited transaction")
}

func TestTaskOutputIsBounded(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, hosts := cluster(t, pool, 1)
	e, _ := startEngine(t, pool, loudExecutor{}, testConfig())
	id, err := e.Submit(context.Background(), nil, aquila.Plan{Kind: aquila.KindRestart, ClusterID: clusterID, RequestedBy: "ops",
		MaxOutOfServicePct: 100, Stages: []aquila.PlanStage{{Name: "one", Tasks: []aquila.PlanTask{{HostID: hosts[0], Action: "X"}}}}})
	require.NoError(t, err)
	svc := newService(pool, e)
	waitFor(t, "the operation to end", func() bool {
		return waitStateNow(t, svc, id) != aquila.Pending && waitStateNow(t, svc, id) != aquila.Running
	})
	tasks, err := svc.Tasks(operatorCtx(), id, "", 0, 10)
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.LessOrEqual(t, len(tasks[0].Output), aquila.MaxOutput)
	require.True(t, strings.HasSuffix(tasks[0].Output, aquila.OutputTruncated))
}

type loudExecutor struct{}

func (loudExecutor) Run(context.Context, aquila.Task) (aquila.Result, error) {
	return aquila.Result{Output: strings.Repeat("é", 10000)}, nil
}

func TestProgressIsAnnouncedOnTheOperationChannel(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t, db.Options{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, d.URL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "LISTEN "+aquila.ChannelOperation)
	require.NoError(t, err)

	clusterID, _ := cluster(t, d.Pool, 10)
	e, _ := startEngine(t, d.Pool, aquila.ZeroExecutor{}, testConfig())
	svc := newService(d.Pool, e)
	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 50, 50, 0))
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.Succeeded)

	// Submission, each stage start, each batch and the end: all carry the id only.
	var heard int
	for {
		waitCtx, cancel := context.WithTimeout(ctx, time.Second)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		if err != nil {
			break
		}
		require.Equal(t, itoa(op.ID), n.Payload)
		heard++
	}
	require.GreaterOrEqual(t, heard, 4)
}

// brokenApplier's database effects always fail: the stage job errors each time.
type brokenApplier struct{ aquila.ZeroExecutor }

func (brokenApplier) Apply(context.Context, pgx.Tx, []aquila.Done) error {
	return errors.New("component table unreachable")
}

func TestAStageJobThatKeepsFailingFailsTheOperation(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	clusterID, _ := cluster(t, pool, 10)
	cfg := testConfig()
	cfg.MaxJobErrors = 2
	e, _ := startEngine(t, pool, brokenApplier{}, cfg)
	svc := newService(pool, e)
	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 50, 50, 0))
	require.NoError(t, err)
	op = waitState(t, svc, op.ID, aquila.Failed)
	require.Contains(t, op.Error, "internal error")
	require.NotContains(t, op.Error, "unreachable", "internal errors stay in the log")
	require.Zero(t, op.TasksSucceeded, "no result is recorded without its effects")
	require.Positive(t, op.TasksFailed, "the claimed tasks fail, for a retry")
	require.Zero(t, taskStates(t, pool, op.ID)["RUNNING"])
}
