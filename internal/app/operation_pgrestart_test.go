package app

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
)

// onceExecutor runs the simulated fleet's tasks as the agent's executor must:
// a key seen before gets the first run's result without running again. It
// counts the real runs by task.
type onceExecutor struct {
	*aquila.SimulatedExecutor
	mu   sync.Mutex
	seen map[string]error
	runs map[int64]int
}

func (o *onceExecutor) Run(ctx context.Context, t aquila.Task) (aquila.Result, error) {
	o.mu.Lock()
	if err, ok := o.seen[t.IdempotencyKey()]; ok {
		o.mu.Unlock()
		return aquila.Result{Output: "replayed"}, err
	}
	o.mu.Unlock()
	res, err := o.SimulatedExecutor.Run(ctx, t)
	if ctx.Err() != nil {
		return res, ctx.Err() // interrupted: not a run
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen[t.IdempotencyKey()] = err
	o.runs[t.TaskID]++
	return res, err
}

func (o *onceExecutor) running() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.runs)
}

// TestFaultPostgresRestartDuringOperation restarts PostgreSQL while a rolling
// restart's tasks run: the engine and its River client must find their way
// back by themselves, and the operation end SUCCEEDED with every task run and
// recorded once and the counters matching the tasks.
func TestFaultPostgresRestartDuringOperation(t *testing.T) {
	t.Parallel()
	c := privatePostgres(t)
	pool, _ := c.open(t)
	clusterID := fixture.Bulk(t, pool, 1, 40)[0]
	logger := slog.New(slog.DiscardHandler)

	exec := &onceExecutor{
		SimulatedExecutor: aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: 250 * time.Millisecond, Spread: 0.2, Seed: 7}),
		seen:              map[string]error{}, runs: map[int64]int{},
	}
	eng, err := aquila.NewEngine(pool, exec, logger, aquila.EngineConfig{
		FetchPollInterval: 100 * time.Millisecond, RetryDelay: 100 * time.Millisecond, SweepInterval: time.Second, BatchSize: 2})
	require.NoError(t, err)
	engCtx, cancel := context.WithCancel(context.Background())
	require.NoError(t, eng.Start(engCtx))
	t.Cleanup(func() {
		cancel()
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = eng.Stop(stop)
	})
	svc := aquila.NewService(pool, eng, audit.New(pool, logger))
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{Login: "ops", Role: auth.Operator, Method: auth.MethodToken})
	params, _ := json.Marshal(aquila.RestartParams{BatchPercent: 10})
	op, err := svc.Submit(ctx, aquila.Request{Kind: aquila.KindRestart, ClusterID: clusterID, Params: params,
		MaxOutOfServicePct: 10, Reason: "restart during a database restart"})
	require.NoError(t, err)
	total := op.TasksTotal
	require.Equal(t, 40, total)

	// Restart the database once the first tasks ran and while others run.
	deadline := time.Now().Add(60 * time.Second)
	for exec.running() < 2 {
		require.True(t, time.Now().Before(deadline), "tasks never started")
		time.Sleep(20 * time.Millisecond)
	}
	c.restart(time.Second)
	restarted := time.Now()

	// The operation finishes on its own; reads fail while the pool reconnects.
	deadline = time.Now().Add(120 * time.Second)
	for {
		op, err = svc.Operation(ctx, op.ID)
		if err == nil && op.State == aquila.Succeeded {
			break
		}
		require.True(t, time.Now().Before(deadline), "operation not SUCCEEDED after the restart: %+v, %v", op, err)
		time.Sleep(100 * time.Millisecond)
	}

	// Every task recorded once, each run once (one attempt, one key), and
	// the counters add up to the tasks' states.
	rows, err := pool.Query(context.Background(), `SELECT id, state, attempts FROM operation_task WHERE operation_id = $1`, op.ID)
	require.NoError(t, err)
	type task struct {
		id       int64
		state    string
		attempts int
	}
	tasks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (task, error) {
		var x task
		return x, r.Scan(&x.id, &x.state, &x.attempts)
	})
	require.NoError(t, err)
	require.Len(t, tasks, total)
	states := map[string]int{}
	exec.mu.Lock()
	runs := exec.runs
	exec.mu.Unlock()
	for _, x := range tasks {
		states[x.state]++
		require.Equal(t, 1, x.attempts, "task %d was claimed as a new attempt after the restart", x.id)
		if x.state == string(aquila.TaskSucceeded) {
			require.Equal(t, 1, runs[x.id], "task %d ran %d times", x.id, runs[x.id])
		} else {
			require.Zero(t, runs[x.id], "skipped task %d ran", x.id)
		}
	}
	require.Equal(t, map[string]int{"SUCCEEDED": 32, "SKIPPED": 8}, states, "hosts in MAINTENANCE are skipped, the others succeed")
	require.Equal(t, states["SUCCEEDED"], op.TasksSucceeded)
	require.Equal(t, states["SKIPPED"], op.TasksSkipped)
	require.Zero(t, op.TasksFailed)
	require.Len(t, runs, 32)
	var after int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM operation_task WHERE operation_id = $1 AND ended_at > $2`,
		op.ID, restarted).Scan(&after))
	require.Positive(t, after, "the restart came mid-operation: tasks ended after it")
}
