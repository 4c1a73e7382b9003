package aquila_test

import (
	"context"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// loggedExecutor is idempotent across processes: an execution is a row in
// exec_log keyed by the idempotency key, so a key replayed by another process
// is recognised, and the rows count real executions.
type loggedExecutor struct {
	pool *pgxpool.Pool
	// after this many executions every run blocks until its context ends
	// (0: never), so a process can be killed with tasks claimed.
	blockAfter int64
	n          atomic.Int64
}

func (l *loggedExecutor) Run(ctx context.Context, t aquila.Task) (aquila.Result, error) {
	if l.blockAfter > 0 && l.n.Add(1) > l.blockAfter {
		<-ctx.Done()
		return aquila.Result{}, ctx.Err()
	}
	tag, err := l.pool.Exec(ctx, `INSERT INTO exec_log (key, task_id) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
		t.IdempotencyKey(), t.TaskID)
	if err != nil {
		return aquila.Result{}, err
	}
	if tag.RowsAffected() == 0 {
		return aquila.Result{Output: "replayed " + t.IdempotencyKey()}, nil
	}
	return aquila.Result{Output: "ran " + t.IdempotencyKey()}, nil
}

func killConfig() aquila.EngineConfig {
	cfg := testConfig()
	cfg.TaskLease = 2 * time.Second
	cfg.SweepInterval = 500 * time.Millisecond
	return cfg
}

// TestKillNineChild is the child process of TestKillNineMidOperation: it runs
// an engine on the parent's database until it is killed.
func TestKillNineChild(t *testing.T) {
	url := os.Getenv("AQUILA_KILL9_DATABASE_URL")
	if url == "" {
		t.Skip("run by TestKillNineMidOperation only")
	}
	ctx := context.Background()
	pool, err := db.Open(ctx, url, db.Options{MaxConns: 8})
	require.NoError(t, err)
	// The child works every job of the stage, so they all die with it: only
	// the parent's sweep can resume the stage before River's rescue.
	e, err := aquila.NewEngine(pool, &loggedExecutor{pool: pool, blockAfter: 5}, quiet, killConfig())
	require.NoError(t, err)
	require.NoError(t, e.Start(ctx))
	select {} // until SIGKILL
}

func TestKillNineMidOperation(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t, db.Options{})
	ctx := context.Background()
	pool := d.Pool
	_, err := pool.Exec(ctx, `CREATE TABLE exec_log (key text PRIMARY KEY, task_id bigint NOT NULL)`)
	require.NoError(t, err)
	clusterID, _ := cluster(t, pool, 40)
	submitter, err := aquila.NewEngine(pool, nil, quiet, aquila.EngineConfig{NoWork: true})
	require.NoError(t, err)
	svc := newService(pool, submitter)
	op, err := svc.Submit(operatorCtx(), restartReq(clusterID, 25, 25, 0))
	require.NoError(t, err)

	child := exec.Command(os.Args[0], "-test.run", "^TestKillNineChild$", "-test.count=1")
	child.Env = append(os.Environ(), "AQUILA_KILL9_DATABASE_URL="+d.URL)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	var executed int
	waitFor(t, "the child to run five tasks and hold more", func() bool {
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM exec_log`).Scan(&executed))
		return executed == 5 && taskStates(t, pool, op.ID)["RUNNING"] > 5
	})
	require.NoError(t, child.Process.Kill()) // SIGKILL: no cleanup at all
	_ = child.Wait()
	held := taskStates(t, pool, op.ID)["RUNNING"]
	var stuck int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'aquila_stage' AND state = 'running'`).Scan(&stuck))
	t.Logf("child killed with %d tasks RUNNING, %d executed, %d River jobs left running", held, executed, stuck)

	e, _ := startEngine(t, pool, &loggedExecutor{pool: pool}, killConfig())
	svc = newService(pool, e)
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 32, op.TasksSucceeded)
	var tasks, rows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(DISTINCT task_id), count(*) FROM exec_log`).Scan(&tasks, &rows))
	require.Equal(t, 32, tasks, "every task in service executed")
	require.Equal(t, 32, rows, "no task executed twice")
}
