package aquila_test

import (
	"context"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// Apply records the batch's effects as the simulated fleet does (an upgraded
// host's components at the new version), so an upgrade killed mid-way can be
// checked against the components it left.
func (l *loggedExecutor) Apply(ctx context.Context, tx pgx.Tx, done []aquila.Done) error {
	return aquila.NewSimulatedExecutor(aquila.SimulatedConfig{}).Apply(ctx, tx, done)
}

func killConfig() aquila.EngineConfig {
	cfg := testConfig()
	cfg.TaskLease = 2 * time.Second
	cfg.SweepInterval = 500 * time.Millisecond
	return cfg
}

// TestKillNineChild is the child process of the kill -9 tests: it runs
// an engine on the parent's database until it is killed.
func TestKillNineChild(t *testing.T) {
	url := os.Getenv("AQUILA_KILL9_DATABASE_URL")
	if url == "" {
		t.Skip("run by TestKillNineMidOperation and TestKillNineMidRollingUpgrade only")
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

	killChildMidStage(t, d, op.ID)

	e, _ := startEngine(t, pool, &loggedExecutor{pool: pool}, killConfig())
	svc = newService(pool, e)
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 32, op.TasksSucceeded)
	var tasks, rows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(DISTINCT task_id), count(*) FROM exec_log`).Scan(&tasks, &rows))
	require.Equal(t, 32, tasks, "every task in service executed")
	require.Equal(t, 32, rows, "no task executed twice")
}

// killChildMidStage runs an engine in a child process on d until it has
// executed five tasks of operation op and holds more, then kills it with
// SIGKILL: no cleanup at all, tasks left RUNNING and River jobs running.
func killChildMidStage(t *testing.T, d *dbtest.Database, op int64) {
	t.Helper()
	ctx := context.Background()
	pool := d.Pool
	child := exec.Command(os.Args[0], "-test.run", "^TestKillNineChild$", "-test.count=1")
	child.Env = append(os.Environ(), "AQUILA_KILL9_DATABASE_URL="+d.URL)
	require.NoError(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	var executed int
	waitFor(t, "the child to run five tasks and hold more", func() bool {
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM exec_log`).Scan(&executed))
		return executed == 5 && taskStates(t, pool, op)["RUNNING"] > 5
	})
	require.NoError(t, child.Process.Kill()) // SIGKILL: no cleanup at all
	_ = child.Wait()
	held := taskStates(t, pool, op)["RUNNING"]
	var stuck int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'aquila_stage' AND state = 'running'`).Scan(&stuck))
	t.Logf("child killed with %d tasks RUNNING, %d executed, %d River jobs left running", held, executed, stuck)
}

// TestKillNineMidRollingUpgrade kills the server with SIGKILL during a
// rolling upgrade's first batch: a new server finishes the upgrade, no task
// ran twice, and every host in service is at the new version.
func TestKillNineMidRollingUpgrade(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t, db.Options{})
	ctx := context.Background()
	pool := d.Pool
	_, err := pool.Exec(ctx, `CREATE TABLE exec_log (key text PRIMARY KEY, task_id bigint NOT NULL)`)
	require.NoError(t, err)
	c := newTDP(t, pool, 40) // 32 in service, 8 in MAINTENANCE
	submitter, err := aquila.NewEngine(pool, nil, quiet, aquila.EngineConfig{NoWork: true})
	require.NoError(t, err)
	svc := newService(pool, submitter)
	req := upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{BatchPercent: 25})
	req.MaxOutOfServicePct = 25
	op, _, err := svc.Upgrade(operatorCtx(), req)
	require.NoError(t, err)

	killChildMidStage(t, d, op.ID)
	require.Equal(t, map[string]int{"ZK 1.0": 32, "HDFS 1.0": 32, "YARN 1.0": 32}, componentVersions(t, pool, c.cluster),
		"nothing the killed server ran was recorded")

	e, _ := startEngine(t, pool, &loggedExecutor{pool: pool}, killConfig())
	svc = newService(pool, e)
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 32, op.TasksSucceeded)
	var tasks, rows int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(DISTINCT task_id), count(*) FROM exec_log`).Scan(&tasks, &rows))
	require.Equal(t, 32, tasks, "every host in service upgraded")
	require.Equal(t, 32, rows, "no task executed twice")
	require.Equal(t, map[string]int{"ZK 2.0": 32, "HDFS 2.0": 32, "YARN 2.0": 32}, componentVersions(t, pool, c.cluster))
	require.Equal(t, c.versions["2.0"], clusterVersion(t, pool, c.cluster))
}
