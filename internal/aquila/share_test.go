package aquila_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// peakExecutor records how many tasks run at once: the hosts an operation has
// out of service together.
type peakExecutor struct {
	mu        sync.Mutex
	now, peak int
	runs      int
	delay     time.Duration
}

func (p *peakExecutor) Run(ctx context.Context, t aquila.Task) (aquila.Result, error) {
	p.mu.Lock()
	p.now++
	p.runs++
	p.peak = max(p.peak, p.now)
	p.mu.Unlock()
	defer func() { p.mu.Lock(); p.now--; p.mu.Unlock() }()
	select {
	case <-time.After(p.delay):
		return aquila.Result{}, nil
	case <-ctx.Done():
		return aquila.Result{}, ctx.Err()
	}
}

func (p *peakExecutor) stats() (peak, runs int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peak, p.runs
}

// shareCluster is a 20-host cluster all ONLINE but `down` hosts (the last in
// hostname order, outside the plan) set to OFFLINE or REPAIRING, and a plan
// restarting its first four hosts in one stage under a 20% share (four hosts).
func shareCluster(t *testing.T, pool *pgxpool.Pool, down int) (aquila.Plan, []int64) {
	t.Helper()
	clusterID, hosts := cluster(t, pool, 20)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `UPDATE host SET state = 'ONLINE' WHERE cluster_id = $1`, clusterID)
	require.NoError(t, err)
	downs := hosts[len(hosts)-down:]
	_, err = pool.Exec(ctx, `UPDATE host SET state = CASE WHEN id % 2 = 0 THEN 'OFFLINE' ELSE 'REPAIRING' END WHERE id = ANY($1)`, downs)
	require.NoError(t, err)
	plan := aquila.Plan{Kind: aquila.KindRestart, ClusterID: clusterID, RequestedBy: "ops", MaxOutOfServicePct: 20,
		Stages: []aquila.PlanStage{{Name: "four hosts"}}}
	for _, h := range hosts[:4] {
		plan.Stages[0].Tasks = append(plan.Stages[0].Tasks, aquila.PlanTask{HostID: h, Action: aquila.ActionRestart})
	}
	return plan, downs
}

func TestHostsAlreadyOutOfServiceShrinkTheConcurrentBatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		down, peak int
	}{
		{down: 0, peak: 4}, // the whole share
		{down: 2, peak: 2}, // two of the four already out
		{down: 3, peak: 1},
	} {
		pool := dbtest.New(t)
		plan, _ := shareCluster(t, pool, tc.down)
		exec := &peakExecutor{delay: 300 * time.Millisecond}
		// One job claiming one task at a time beside three others: the share
		// has to hold across jobs, not within one claim.
		cfg := testConfig()
		cfg.BatchSize = 1
		e, _ := startEngine(t, pool, exec, cfg)
		svc := newService(pool, e)
		id, err := e.Submit(context.Background(), nil, plan)
		require.NoError(t, err)
		waitState(t, svc, id, aquila.Succeeded)
		peak, runs := exec.stats()
		require.Equal(t, 4, runs)
		require.Equal(t, tc.peak, peak, "%d hosts down: at most %d of the plan's out at once", tc.down, tc.peak)
	}
}

func TestStageWaitsWhileHostsOutOfServiceFillTheShare(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	plan, downs := shareCluster(t, pool, 4)
	exec := &peakExecutor{delay: 10 * time.Millisecond}
	cfg := testConfig()
	cfg.ShareWaitPoll = 100 * time.Millisecond
	e, _ := startEngine(t, pool, exec, cfg)
	svc := newService(pool, e)
	id, err := e.Submit(context.Background(), nil, plan)
	require.NoError(t, err)

	// Four hosts are down, the share is four: nothing may start. The wait is
	// logged once, however many jobs and polls see it.
	waitFor(t, "the wait to be logged", func() bool {
		pr, err := svc.Progress(operatorCtx(), id)
		require.NoError(t, err)
		return len(pr.Events) > 0 && strings.HasPrefix(pr.Events[0].Message, "waiting for the out-of-service share: 4 of the cluster's 20 hosts are OFFLINE or REPAIRING")
	})
	time.Sleep(500 * time.Millisecond) // several polls of every job
	_, runs := exec.stats()
	require.Zero(t, runs, "no task runs while the share is full")
	op, err := svc.Operation(operatorCtx(), id)
	require.NoError(t, err)
	require.Equal(t, aquila.Running, op.State, "the stage waits; it does not fail or pause")
	var waits int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM operation_event WHERE operation_id = $1 AND message LIKE 'waiting%'`,
		id).Scan(&waits))
	require.Equal(t, 1, waits)

	// Two hosts come back: the stage goes on two at a time.
	_, err = pool.Exec(context.Background(), `UPDATE host SET state = 'ONLINE' WHERE id = ANY($1)`, downs[:2])
	require.NoError(t, err)
	waitState(t, svc, id, aquila.Succeeded)
	peak, runs := exec.stats()
	require.Equal(t, 4, runs)
	require.LessOrEqual(t, peak, 2)
}

// A SELF_HEAL counts only its own hosts: the cluster's other hosts down do
// not make it wait (it is there to heal them, the healing job sized it).
func TestSelfHealIsNotHeldBackByOtherHostsDown(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	_, downs := shareCluster(t, pool, 4) // four hosts down: a 20% share is full
	ctx := context.Background()
	var clusterID int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT cluster_id FROM host WHERE id = $1`, downs[0]).Scan(&clusterID))
	rows, err := pool.Query(ctx, `SELECT id FROM host WHERE cluster_id = $1 ORDER BY hostname LIMIT 2`, clusterID)
	require.NoError(t, err)
	sick, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET state = 'DEGRADED' WHERE id = ANY($1)`, sick)
	require.NoError(t, err)
	exec := &peakExecutor{delay: 10 * time.Millisecond}
	cfg := testConfig()
	cfg.ShareWaitPoll = 100 * time.Millisecond
	e, _ := startEngine(t, pool, exec, cfg)
	svc := newService(pool, e)
	params, _ := json.Marshal(aquila.SelfHealParams{Hosts: []aquila.SelfHealHost{
		{HostID: sick[0], Repair: aquila.RepairRestartServices}, {HostID: sick[1], Repair: aquila.RepairRestartServices}}})
	plan, err := aquila.SelfHealPlanner{}.Plan(ctx, pool, aquila.Request{Kind: aquila.KindSelfHeal, ClusterID: clusterID, Params: params,
		RequestedBy: "system:healing", MaxOutOfServicePct: 20})
	require.NoError(t, err)
	id, err := e.Submit(ctx, nil, *plan)
	require.NoError(t, err)
	op := waitState(t, svc, id, aquila.Succeeded)
	require.Equal(t, op.TasksTotal, op.TasksSucceeded)
}
