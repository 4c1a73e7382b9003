package aquila_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agent/agenttest"
	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/telemetry"
)

// taskOutput is the output of operation op's task of action on host.
func taskOutput(t *testing.T, pool *pgxpool.Pool, op, host int64, action string) string {
	t.Helper()
	var out string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT output FROM operation_task
		WHERE operation_id = $1 AND host_id = $2 AND action = $3`, op, host, action).Scan(&out))
	return out
}

// TestAgentExecutorScalesOutAndDecommissionsARealHost: a cluster of three
// hosts running versionsrv 1.0.0 through real agents and a machine in the
// spare pool. A SCALE_OUT through the engine with the agent executor admits
// it; its agent enrols once the machine has a host row (as a new machine's
// would), and ADMIT waits for it. INSTALL deploys the cluster's profile
// (versionsrv 1.0.0), and the new host answers 1.0.0 over HTTP, its component
// STARTED, ONLINE in the cluster. A DECOMMISSION then stops the service (it
// no longer answers) and returns the machine to the pool. Every agent task
// ran once, under its own key.
func TestAgentExecutorScalesOutAndDecommissionsARealHost(t *testing.T) {
	t.Parallel()
	f := newAgentFleet(t, false)
	ctx := operatorCtx()
	spare := f.addSpare(t, "spare-agent-1")
	e, _ := startEngine(t, f.pool, f.exec, testConfig())
	svc := newService(f.pool, e)
	newHost := func() string { return agenttest.Serving(f.spare + ":" + f.port) }
	require.Empty(t, newHost(), "nothing answers on the machine before the scale-out")

	op, err := svc.ScaleOutCluster(ctx, aquila.ScaleOutInput{ClusterID: f.clusterID, SpareHostIDs: []int64{spare}, Reason: "more room"})
	require.NoError(t, err)
	f.startAgent(t, spare, "spare-agent-1")
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 6, op.TasksSucceeded)

	require.Equal(t, "1.0.0", newHost(), "the new host runs the cluster's version")
	require.Equal(t, []string{"1.0.0", "1.0.0", "1.0.0"}, f.answers())
	require.Equal(t, 1, count(t, f.pool, `SELECT count(*) FROM host WHERE id = $1 AND cluster_id = $2 AND state = 'ONLINE'
		AND held_by_operation IS NULL`, spare, f.clusterID))
	require.Equal(t, 1, count(t, f.pool, `SELECT count(*) FROM host_component WHERE host_id = $1
		AND service = 'VERSIONSRV' AND version = '1.0.0' AND actual_state = 'STARTED' AND desired_state = 'STARTED'`, spare))
	require.Contains(t, taskOutput(t, f.pool, op.ID, spare, aquila.ActionAdmit), "is alive: last heartbeat")
	install := taskOutput(t, f.pool, op.ID, spare, aquila.ActionInstall)
	require.Contains(t, install, "DEPLOY VERSIONSRV 1.0.0: SUCCEEDED")
	require.Contains(t, install, "health OK")
	require.Contains(t, taskOutput(t, f.pool, op.ID, spare, aquila.ActionConfigure), "CONFIGURE VERSIONSRV 1.0.0: SUCCEEDED")
	require.Contains(t, taskOutput(t, f.pool, op.ID, spare, aquila.ActionStart), "START VERSIONSRV 1.0.0: SUCCEEDED")
	require.Contains(t, taskOutput(t, f.pool, op.ID, spare, aquila.ActionCheck), "CHECK VERSIONSRV 1.0.0: SUCCEEDED")
	require.Contains(t, taskOutput(t, f.pool, op.ID, spare, aquila.ActionOnline), "ONLINE")

	// Decommission it back to the pool.
	dec, err := svc.DecommissionHosts(ctx, aquila.DecommissionHostsInput{ClusterID: f.clusterID, Reason: "less room",
		DecommissionParams: aquila.DecommissionParams{HostIDs: []int64{spare}, DrainTimeoutSeconds: 5}})
	require.NoError(t, err)
	dec = waitState(t, svc, dec.ID, aquila.Succeeded)
	require.Equal(t, 3, dec.TasksSucceeded)
	require.Empty(t, newHost(), "the decommissioned host's service is stopped")
	require.Equal(t, []string{"1.0.0", "1.0.0", "1.0.0"}, f.answers(), "the other hosts serve on")
	require.Equal(t, 1, count(t, f.pool, `SELECT count(*) FROM spare_host WHERE id = $1 AND state = 'READY' AND last_cluster_id = $2`,
		spare, f.clusterID))
	require.Equal(t, 1, count(t, f.pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'DECOMMISSIONED'`, spare))
	require.Zero(t, count(t, f.pool, `SELECT count(*) FROM host_component WHERE host_id = $1`, spare))
	require.Contains(t, taskOutput(t, f.pool, dec.ID, spare, aquila.ActionDrain), "nothing to wait for")
	require.Contains(t, taskOutput(t, f.pool, dec.ID, spare, aquila.ActionStop), "STOP VERSIONSRV : SUCCEEDED")
	require.Contains(t, taskOutput(t, f.pool, dec.ID, spare, aquila.ActionRemove), "returned to spare pool default")

	// DEPLOY, CONFIGURE, START, CHECK, STOP: each once, each its own key.
	rows, err := f.pool.Query(context.Background(), `SELECT action FROM agent_task WHERE host_id = $1 AND state = 'SUCCEEDED' ORDER BY id`, spare)
	require.NoError(t, err)
	actions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"DEPLOY", "CONFIGURE", "START", "CHECK", "STOP"}, actions)
	require.Equal(t, 5, count(t, f.pool, `SELECT count(DISTINCT idempotency_key) FROM agent_task WHERE host_id = $1`, spare))
}

// TestAgentExecutorInstallFailsOnAnUnregisteredService: the cluster's hosts
// also run a service no package is registered for, so the scale-out's
// INSTALL fails naming it before any agent task is sent; with no failure
// budget the operation pauses with the machine held in MAINTENANCE, without
// components, never ONLINE; its rollback returns it to the pool. With a
// failure budget of one the later steps run, and ONLINE refuses the empty
// host, which stays held. Then a START that fails on a real agent (the host's component claims a version the
// agent does not run, so the health check never sees it) leaves the
// component FAILED, not as it was.
func TestAgentExecutorInstallFailsOnAnUnregisteredService(t *testing.T) {
	t.Parallel()
	f := newAgentFleet(t, false)
	ctx := operatorCtx()
	bg := context.Background()
	_, err := f.pool.Exec(bg, `INSERT INTO host_component (host_id, service, component, version)
		SELECT id, 'LEGACY', 'WORKER', '0.9' FROM host WHERE cluster_id = $1`, f.clusterID)
	require.NoError(t, err)
	spare := f.addSpare(t, "spare-agent-2")
	e, _ := startEngine(t, f.pool, f.exec, testConfig())
	svc := newService(f.pool, e)

	op, err := svc.ScaleOutCluster(ctx, aquila.ScaleOutInput{ClusterID: f.clusterID, SpareHostIDs: []int64{spare}})
	require.NoError(t, err)
	f.startAgent(t, spare, "spare-agent-2")
	op = waitState(t, svc, op.ID, aquila.Paused)
	require.Equal(t, 1, op.TasksSucceeded, "ADMIT")
	require.Equal(t, 1, op.TasksFailed, "INSTALL")
	require.Contains(t, taskOutput(t, f.pool, op.ID, spare, aquila.ActionInstall), "no package is registered for LEGACY 0.9")
	require.Equal(t, 1, count(t, f.pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'MAINTENANCE' AND held_by_operation = $2`,
		spare, op.ID), "the machine stays held, not ONLINE")
	require.Zero(t, count(t, f.pool, `SELECT count(*) FROM host_component WHERE host_id = $1`, spare))
	require.Zero(t, count(t, f.pool, `SELECT count(*) FROM agent_task WHERE host_id = $1`, spare), "nothing half-deployed")
	require.Empty(t, agenttest.Serving(f.spare+":"+f.port))

	_, err = svc.Rollback(ctx, op.ID)
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.RolledBack)
	require.Equal(t, 1, count(t, f.pool, `SELECT count(*) FROM spare_host WHERE id = $1 AND state = 'READY'`, spare))

	// With a failure budget of one host the operation goes on past the failed
	// INSTALL, and ONLINE refuses the empty host: it stays held, not serving.
	// (Its agent stopped when the pool refused its credential: it starts again.)
	op2, err := svc.ScaleOutCluster(ctx, aquila.ScaleOutInput{ClusterID: f.clusterID, SpareHostIDs: []int64{spare}, FailureBudget: 1})
	require.NoError(t, err)
	f.startAgent(t, spare, "spare-agent-2")
	waitFor(t, "the second scale-out ends", func() bool {
		o, err := svc.Operation(ctx, op2.ID)
		require.NoError(t, err)
		return o.State == aquila.Succeeded || o.State == aquila.Failed
	})
	require.Contains(t, taskOutput(t, f.pool, op2.ID, spare, aquila.ActionInstall), "no package is registered for LEGACY 0.9")
	require.Contains(t, taskOutput(t, f.pool, op2.ID, spare, aquila.ActionOnline),
		"spare-agent-2 has none of the 2 components of cluster")
	require.Equal(t, 1, count(t, f.pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'MAINTENANCE' AND held_by_operation = $2`,
		spare, op2.ID), "never ONLINE")

	// A START that fails on the agent leaves the component FAILED.
	var host int64
	var hostname string
	require.NoError(t, f.pool.QueryRow(bg, `SELECT id, hostname FROM host WHERE cluster_id = $1 AND ip = $2`,
		f.clusterID, f.net+"11").Scan(&host, &hostname))
	_, err = f.pool.Exec(bg, `DELETE FROM host_component WHERE service = 'LEGACY'`)
	require.NoError(t, err)
	_, err = f.pool.Exec(bg, `UPDATE host_component SET version = '2.0.0', actual_state = 'INSTALLED' WHERE host_id = $1`, host)
	require.NoError(t, err)
	task := aquila.Task{OperationID: op.ID, ClusterID: f.clusterID, TaskID: 900001, Attempt: 1, HostID: host, Hostname: hostname,
		Action: aquila.ActionStart}
	res, runErr := f.exec.Run(bg, task)
	require.Error(t, runErr)
	require.Contains(t, res.Output, "START VERSIONSRV 2.0.0: FAILED")
	require.Contains(t, res.Output, "health FAILED")
	require.NoError(t, db.InTx(bg, f.pool, func(tx pgx.Tx) error {
		return f.exec.Apply(bg, tx, []aquila.Done{{Task: task, Result: res, Err: runErr}})
	}))
	var state string
	require.NoError(t, f.pool.QueryRow(bg, `SELECT actual_state FROM host_component WHERE host_id = $1`, host).Scan(&state))
	require.Equal(t, "FAILED", state)
}

// TestAgentExecutorAdmitAndDrainWithoutAgents: the steps that only read what
// agents reported. ADMIT fails naming the host when its agent never
// heartbeated, or not recently, and passes on a fresh heartbeat. DRAIN ends
// as soon as the host's latest sample says 0 containers, succeeds at its
// time-out saying how many were left, has nothing to wait for on a host
// without samples, and returns at once when its context ends.
func TestAgentExecutorAdmitAndDrainWithoutAgents(t *testing.T) {
	t.Parallel()
	pool := dbtest.NewDatabase(t, db.Options{}).Pool
	bg := context.Background()
	cl := fixture.Bulk(t, pool, 1, 2)[0]
	var hosts []int64
	var names []string
	rows, err := pool.Query(bg, `SELECT id, hostname FROM host WHERE cluster_id = $1 ORDER BY id`, cl)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		var n string
		require.NoError(t, rows.Scan(&id, &n))
		hosts, names = append(hosts, id), append(names, n)
	}
	require.NoError(t, rows.Err())
	exec := aquila.NewAgentExecutor(pool, nil, aquila.AgentConfig{AdmitWait: 300 * time.Millisecond, Poll: 50 * time.Millisecond})
	task := func(i int, action string, params any) aquila.Task {
		b, _ := json.Marshal(params)
		return aquila.Task{OperationID: 1, ClusterID: cl, TaskID: int64(i), Attempt: 1, HostID: hosts[0], Hostname: names[0], Action: action, Params: b}
	}

	// ADMIT.
	_, err = pool.Exec(bg, `UPDATE host SET agent_heartbeat_at = NULL WHERE id = $1`, hosts[0])
	require.NoError(t, err)
	_, err = exec.Run(bg, task(1, aquila.ActionAdmit, nil))
	require.ErrorContains(t, err, "the agent of "+names[0]+" has never reported")
	_, err = pool.Exec(bg, `UPDATE host SET agent_heartbeat_at = now() - interval '10 minutes' WHERE id = $1`, hosts[0])
	require.NoError(t, err)
	_, err = exec.Run(bg, task(2, aquila.ActionAdmit, nil))
	require.ErrorContains(t, err, "is not alive: its last heartbeat was 10m0s ago")
	_, err = pool.Exec(bg, `UPDATE host SET agent_heartbeat_at = now(), agent_version = '0.9.1' WHERE id = $1`, hosts[0])
	require.NoError(t, err)
	res, err := exec.Run(bg, task(3, aquila.ActionAdmit, nil))
	require.NoError(t, err)
	require.Contains(t, res.Output, "agent 0.9.1 of "+names[0]+" is alive")

	// DRAIN: no samples, nothing to wait for.
	drain := aquila.HostStepParams{DrainTimeoutSeconds: 1}
	res, err = exec.Run(bg, task(4, aquila.ActionDrain, drain))
	require.NoError(t, err)
	require.Contains(t, res.Output, "nothing to wait for")

	now := time.Now().UTC()
	_, err = telemetry.EnsurePartitions(bg, pool, now.Add(-time.Hour), now.Add(time.Hour))
	require.NoError(t, err)
	// sample stores the host's newest sample (ts to the second, as agents send).
	sample := func(containers int32) error {
		return db.InTx(bg, pool, func(tx pgx.Tx) error {
			_, err := telemetry.Upsert(bg, tx, []telemetry.Sample{{HostID: hosts[0], TS: time.Now().UTC().Truncate(time.Second), Containers: &containers}})
			return err
		})
	}
	// Three containers that stay: the time-out ends the wait, successfully.
	require.NoError(t, sample(3))
	began := time.Now()
	res, err = exec.Run(bg, task(5, aquila.ActionDrain, drain))
	require.NoError(t, err)
	require.Contains(t, res.Output, "timed out after 1s with 3 containers still running")
	require.GreaterOrEqual(t, time.Since(began), time.Second)

	// A context that ends returns at once, with its error (not recorded).
	cctx, cancel := context.WithCancel(bg)
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	began = time.Now()
	_, err = exec.Run(cctx, task(6, aquila.ActionDrain, aquila.HostStepParams{DrainTimeoutSeconds: 60}))
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
	require.Less(t, time.Since(began), 5*time.Second)

	// The containers leave while DRAIN waits (a sample a second later, so a
	// newer one): it ends drained.
	left := make(chan error, 1)
	go func() { time.Sleep(1100 * time.Millisecond); left <- sample(0) }()
	res, err = exec.Run(bg, task(7, aquila.ActionDrain, aquila.HostStepParams{DrainTimeoutSeconds: 60}))
	require.NoError(t, err)
	require.NoError(t, <-left)
	require.Contains(t, res.Output, names[0]+" drained: 0 containers")

	// ONLINE and REMOVE are bookkeeping: a line each.
	res, err = exec.Run(bg, task(8, aquila.ActionOnline, nil))
	require.NoError(t, err)
	require.Contains(t, res.Output, "ONLINE")
	res, err = exec.Run(bg, task(9, aquila.ActionRemove, aquila.HostStepParams{To: aquila.ToRetire}))
	require.NoError(t, err)
	require.Contains(t, res.Output, "retired")
}
