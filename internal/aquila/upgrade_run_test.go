package aquila_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

func componentVersions(t *testing.T, pool *pgxpool.Pool, cluster int64) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT c.service || ' ' || c.version, count(*)::int FROM host_component c
		JOIN host h ON h.id = c.host_id WHERE h.cluster_id = $1 AND h.state <> 'MAINTENANCE' GROUP BY 1`, cluster)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		require.NoError(t, rows.Scan(&k, &n))
		out[k] = n
	}
	return out
}

func clusterVersion(t *testing.T, pool *pgxpool.Pool, cluster int64) int64 {
	t.Helper()
	var v int64
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT stack_version_id FROM cluster WHERE id = $1`, cluster).Scan(&v))
	return v
}

// TestUpgradeRollingPausesAfterFirstBatchAndRollsBack runs an upgrade on the
// simulated fleet: it pauses after its canary batch, resumes, succeeds (the
// cluster's stack version moves), and rolls back to where it was.
func TestUpgradeRollingPausesAfterFirstBatchAndRollsBack(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := operatorCtx()
	c := newTDP(t, pool, 10)
	exec := aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: time.Millisecond})
	e, _ := startEngine(t, pool, exec, testConfig())
	svc := newService(pool, e)
	req := upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{BatchPercent: 20, PauseAfterFirstBatch: true})
	req.MaxOutOfServicePct = 20
	req.Kind = ""
	op, _, err := svc.Upgrade(ctx, req)
	require.NoError(t, err)
	op = waitState(t, svc, op.ID, aquila.Paused)
	require.Equal(t, 1, op.CurrentStage)
	pr, err := svc.Progress(ctx, op.ID)
	require.NoError(t, err)
	require.Equal(t, "SUCCEEDED", pr.Stages[0].State)
	require.Equal(t, "PENDING", pr.Stages[1].State)
	require.Contains(t, pr.Events[0].Message, "paused after stage 1")

	_, err = svc.Resume(ctx, op.ID)
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, map[string]int{"ZK 2.0": 8, "HDFS 2.0": 8, "YARN 2.0": 8}, componentVersions(t, pool, c.cluster))
	require.Equal(t, c.versions["2.0"], clusterVersion(t, pool, c.cluster))

	_, err = svc.Rollback(ctx, op.ID)
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.RolledBack)
	require.Equal(t, map[string]int{"ZK 1.0": 8, "HDFS 1.0": 8, "YARN 1.0": 8}, componentVersions(t, pool, c.cluster))
	require.Equal(t, c.versions["1.0"], clusterVersion(t, pool, c.cluster))
}

// TestUpgradeClustersRespectsTheConcurrencyLimit: four clusters, at most two
// upgrades running at once; the others wait PENDING and all end SUCCEEDED.
func TestUpgradeClustersRespectsTheConcurrencyLimit(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := operatorCtx()
	clusters := newTDPs(t, pool, 4, 5)
	exec := newCountingExecutor()
	exec.gate = make(chan struct{})
	cfg := testConfig()
	cfg.MaxRunningUpgrades = 3
	cfg.UpgradeSlotPoll = 50 * time.Millisecond
	// The running upgrades' stage jobs wait at the gate: leave workers for
	// the waiting upgrades' start jobs.
	cfg.Workers = 16
	e, _ := startEngine(t, pool, exec, cfg)
	svc := newService(pool, e)

	reqs := make([]aquila.Request, len(clusters))
	for i, c := range clusters {
		reqs[i] = upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{BatchPercent: 100})
		reqs[i].MaxOutOfServicePct = 100
	}
	// A cluster named twice is refused before anything is submitted.
	_, err := svc.UpgradeClusters(ctx, append(reqs, reqs[0]), 2)
	require.Error(t, err)

	out, err := svc.UpgradeClusters(ctx, reqs, 2)
	require.NoError(t, err)
	ids := make([]int64, len(out))
	for i, o := range out {
		require.NoError(t, o.Err)
		ids[i] = o.Operation.ID
	}
	count := func() (running, pending int) {
		for _, id := range ids {
			op, err := svc.Operation(ctx, id)
			require.NoError(t, err)
			switch op.State {
			case aquila.Running:
				running++
			case aquila.Pending:
				pending++
			}
		}
		return
	}
	// Two start (their tasks wait at the gate); the other two stay PENDING
	// while the slots are held, however often their jobs look.
	waitFor(t, "two upgrades running", func() bool { r, _ := count(); return r == 2 })
	var snoozes int
	waitFor(t, "the waiting upgrades to look for a slot a few times", func() bool {
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT coalesce(sum((metadata->>'snoozes')::int), 0) FROM river_job
			WHERE kind = 'aquila_stage' AND (args->>'stage')::int = 0`).Scan(&snoozes))
		return snoozes >= 4
	})
	r, p := count()
	require.Equal(t, 2, r)
	require.Equal(t, 2, p)
	close(exec.gate)
	for _, id := range ids {
		waitState(t, svc, id, aquila.Succeeded)
	}
	// Never more than two at once: no instant lies inside three runs.
	var overlap int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT max(n) FROM (
		SELECT (SELECT count(*) FROM operation o2 WHERE o2.id = ANY($1) AND o2.started_at <= o.started_at AND o2.ended_at > o.started_at) AS n
		FROM operation o WHERE o.id = ANY($1)) x`, ids).Scan(&overlap))
	require.LessOrEqual(t, overlap, 2)
}

// TestUpgradeExpressAndPartialRollBack: an EXPRESS upgrade of the whole
// stack and its rollback on the simulated fleet, then a partial version
// upgrading HDFS alone.
func TestUpgradeExpressAndPartialRollBack(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := operatorCtx()
	c := newTDP(t, pool, 6)
	exec := aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: time.Millisecond})
	e, _ := startEngine(t, pool, exec, testConfig())
	svc := newService(pool, e)

	op, checks, err := svc.Upgrade(ctx, upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{Strategy: aquila.StrategyExpress}))
	require.NoError(t, err, "%+v", checks)
	require.Equal(t, aquila.CheckWarning, checkMap(checks)["waterLevel"], "express takes the cluster down")
	waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, map[string]int{"ZK 2.0": 5, "HDFS 2.0": 5, "YARN 2.0": 5}, componentVersions(t, pool, c.cluster))
	_, err = svc.Rollback(ctx, op.ID)
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.RolledBack)
	require.Equal(t, map[string]int{"ZK 1.0": 5, "HDFS 1.0": 5, "YARN 1.0": 5}, componentVersions(t, pool, c.cluster))
	pr, err := svc.Progress(ctx, op.ID)
	require.NoError(t, err)
	var names []string
	for _, s := range pr.Stages {
		if s.Rollback {
			names = append(names, s.Name)
		}
	}
	require.Equal(t, []string{"stop YARN", "stop HDFS", "stop ZK", "deploy ZK 1.0", "deploy HDFS 1.0", "deploy YARN 1.0"}, names)

	op, _, err = svc.Upgrade(ctx, upgradeReq(c.cluster, c.versions["2.1"], aquila.UpgradeParams{BatchPercent: 50}))
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, map[string]int{"ZK 1.0": 5, "HDFS 2.1": 5, "YARN 1.0": 5}, componentVersions(t, pool, c.cluster))
	require.Equal(t, c.versions["2.1"], clusterVersion(t, pool, c.cluster))
}
