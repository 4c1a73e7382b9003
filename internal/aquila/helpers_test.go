package aquila_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
)

// countingExecutor is an idempotent executor that counts real executions by
// task: a key seen before gets the first run's result without running again,
// as the agent's executor must behave.
type countingExecutor struct {
	mu    sync.Mutex
	done  map[string]error
	runs  map[int64]int
	by    map[string]int // executions per engine name
	fail  map[int64]bool // hosts whose tasks fail
	gate  chan struct{}  // when set, each run waits for a token (or ctx)
	delay time.Duration
}

func newCountingExecutor() *countingExecutor {
	return &countingExecutor{done: map[string]error{}, runs: map[int64]int{}, by: map[string]int{}, fail: map[int64]bool{}}
}

func (c *countingExecutor) as(name string) aquila.Executor { return namedExecutor{c, name} }

type namedExecutor struct {
	c    *countingExecutor
	name string
}

func (n namedExecutor) Run(ctx context.Context, t aquila.Task) (aquila.Result, error) {
	return n.c.run(ctx, t, n.name)
}

func (c *countingExecutor) Run(ctx context.Context, t aquila.Task) (aquila.Result, error) {
	return c.run(ctx, t, "")
}

func (c *countingExecutor) run(ctx context.Context, t aquila.Task, name string) (aquila.Result, error) {
	c.mu.Lock()
	if err, seen := c.done[t.IdempotencyKey()]; seen {
		c.mu.Unlock()
		return aquila.Result{Output: "replayed"}, err
	}
	gate, delay := c.gate, c.delay
	c.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return aquila.Result{}, ctx.Err()
		}
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return aquila.Result{}, ctx.Err()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	if c.fail[t.HostID] {
		err = aquila.ErrSimulatedFailure
	}
	c.done[t.IdempotencyKey()] = err
	c.runs[t.TaskID]++
	c.by[name]++
	return aquila.Result{Output: "ran " + t.IdempotencyKey()}, err
}

func (c *countingExecutor) setFail(hosts ...int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = map[int64]bool{}
	for _, h := range hosts {
		c.fail[h] = true
	}
}

func (c *countingExecutor) runsOf() map[int64]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[int64]int, len(c.runs))
	for k, v := range c.runs {
		out[k] = v
	}
	return out
}

var quiet = slog.New(slog.DiscardHandler)

// testConfig keeps River quick to notice work in tests.
func testConfig() aquila.EngineConfig {
	return aquila.EngineConfig{FetchPollInterval: 100 * time.Millisecond, RetryDelay: 10 * time.Millisecond, BatchSize: 7}
}

func startEngine(t *testing.T, pool *pgxpool.Pool, exec aquila.Executor, cfg aquila.EngineConfig) (*aquila.Engine, context.CancelFunc) {
	t.Helper()
	e, err := aquila.NewEngine(pool, exec, quiet, cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, e.Start(ctx))
	t.Cleanup(func() {
		cancel()
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = e.Stop(stopCtx)
	})
	return e, cancel
}

func operatorCtx() context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Login: "ops", Role: auth.Operator, Method: auth.MethodToken})
}

// cluster makes a cluster of n hosts with one YARN component each; every
// fifth host is in MAINTENANCE and every fifth (offset) DEGRADED.
func cluster(t *testing.T, pool *pgxpool.Pool, n int) (int64, []int64) {
	t.Helper()
	id := fixture.Bulk(t, pool, 1, n)[0]
	rows, err := pool.Query(context.Background(), `SELECT id FROM host WHERE cluster_id = $1 ORDER BY hostname`, id)
	require.NoError(t, err)
	hosts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	return id, hosts
}

func restartReq(cluster int64, batchPct, maxPct, budget int) aquila.Request {
	p, _ := json.Marshal(aquila.RestartParams{BatchPercent: batchPct})
	return aquila.Request{Kind: aquila.KindRestart, ClusterID: cluster, Params: p, MaxOutOfServicePct: maxPct,
		FailureBudget: budget, Reason: "test"}
}

func newService(pool *pgxpool.Pool, e *aquila.Engine) *aquila.Service {
	return aquila.NewService(pool, e, audit.New(pool, quiet))
}

// waitState polls until operation id is in state want (or the deadline).
func waitState(t *testing.T, svc *aquila.Service, id int64, want aquila.State) *aquila.Operation {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var op *aquila.Operation
	for time.Now().Before(deadline) {
		var err error
		op, err = svc.Operation(operatorCtx(), id)
		require.NoError(t, err)
		if op.State == want {
			return op
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("operation %d is %s after 60s, want %s (%+v)", id, op.State, want, op)
	return nil
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func taskStates(t *testing.T, pool *pgxpool.Pool, op int64) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT state, count(*)::int FROM operation_task WHERE operation_id = $1 GROUP BY state`, op)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		require.NoError(t, rows.Scan(&s, &n))
		out[s] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func taskIDs(t *testing.T, pool *pgxpool.Pool, op int64, where string) []int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT t.id FROM operation_task t JOIN host h ON h.id = t.host_id
		WHERE t.operation_id = $1 AND `+where+` ORDER BY t.id`, op)
	require.NoError(t, err)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	return ids
}
