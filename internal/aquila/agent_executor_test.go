package aquila_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agent"
	"github.com/teslaops/tesla/internal/agent/agenttest"
	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/stack"
)

// TestMain removes the agent tests' service build when the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	agenttest.RemoveBuild()
	os.Exit(code)
}

// gatedExecutor runs a task only when the test hands it a token, so the test
// can look at the fleet between batches.
type gatedExecutor struct {
	*aquila.AgentExecutor
	gate chan struct{}
}

func (g gatedExecutor) Run(ctx context.Context, t aquila.Task) (aquila.Result, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return aquila.Result{}, ctx.Err()
	}
	return g.AgentExecutor.Run(ctx, t)
}

// agentFleet is a real server side (the agents' task queue and API), three
// real agents on this machine, each host its own loopback address, and the
// versionsrv package at 1.0.0 and 2.0.0 in a stack DEMO with versions "1" and
// "2", every host running 1.0.0 (deployed through the agent executor).
type agentFleet struct {
	pool      *pgxpool.Pool
	exec      *aquila.AgentExecutor
	clusterID int64
	versions  map[string]int64
	answers   func() []string
	// port is the versionsrv port on every host address, spare's too.
	port string
	// net is the fleet's own loopback /24 ("127.0.N."): its hosts are .11,
	// .12 and .13, a pool machine .14, so fleets of tests running in
	// parallel never serve on one another's address and port.
	net    string
	spare  string
	server string
	logger *slog.Logger
	// hosts are the fleet's three hosts, by hostname; roots their agents'
	// services roots, by host id.
	hosts []fleetHost
	roots map[int64]string
	// agentCfg, when set, adjusts each agent's configuration.
	agentCfg func(*agent.Config)
}

// fleetHost is one host of an agent fleet.
type fleetHost struct {
	id         int64
	name, addr string
}

// fleetNets numbers the fleets' loopback networks.
var fleetNets atomic.Int32

// startAgent runs a real agent for host (which must have a host row: the
// credential belongs to it) with its own services root; the agent stops and
// its services are killed when the test ends.
func (f *agentFleet) startAgent(t *testing.T, hostID int64, hostname string) {
	t.Helper()
	h := agenttest.Enroll(t, f.pool, f.server, hostID, hostname)
	f.roots[hostID] = h.Root
	cfg := h.Config()
	if f.agentCfg != nil {
		f.agentCfg(&cfg)
	}
	agenttest.Start(t, cfg, f.logger)
}

// addSpare registers a machine in the spare pool of the fleet's region at
// f.spare (its agent can only start once a scale-out admitted it: a pool
// machine has no host row to hold a credential).
func (f *agentFleet) addSpare(t *testing.T, name string) int64 {
	t.Helper()
	id := addSpares(t, f.pool, "us-west", name)[0].ID
	_, err := f.pool.Exec(context.Background(), `UPDATE spare_host SET ip = $2 WHERE id = $1`, id, f.spare)
	require.NoError(t, err)
	return id
}

// newAgentFleet starts the fleet; agentCfg, when given, adjusts each of its
// agents' configuration.
func newAgentFleet(t *testing.T, corruptV2 bool, agentCfg ...func(*agent.Config)) *agentFleet {
	t.Helper()
	logger := agenttest.Logger(t, slog.LevelWarn)
	pool := dbtest.NewDatabase(t, db.Options{}).Pool
	bg := context.Background()

	// Three hosts, each its own loopback address in the fleet's network.
	subnet := fmt.Sprintf("127.0.%d.", 100+fleetNets.Add(1)%150)
	spare := subnet + "14"
	clusterID := fixture.Bulk(t, pool, 1, 3)[0]
	rows, err := pool.Query(bg, `SELECT id, hostname FROM host WHERE cluster_id = $1 ORDER BY hostname`, clusterID)
	require.NoError(t, err)
	var hosts []fleetHost
	for rows.Next() {
		var h fleetHost
		require.NoError(t, rows.Scan(&h.id, &h.name))
		h.addr = fmt.Sprintf("%s%d", subnet, 11+len(hosts))
		hosts = append(hosts, h)
	}
	require.NoError(t, rows.Err())
	require.Len(t, hosts, 3)
	ips := make([]string, len(hosts))
	for i, h := range hosts {
		ips[i] = h.addr
		_, err := pool.Exec(bg, `UPDATE host SET state = 'ONLINE', ip = $2 WHERE id = $1`, h.id, h.addr)
		require.NoError(t, err)
	}
	port := agenttest.FreePort(t, append(ips, spare)...)

	// The package, v1 and v2, served over HTTP, registered with its agent template.
	pkgDir := t.TempDir()
	files := httptest.NewServer(http.FileServer(http.Dir(pkgDir)))
	t.Cleanup(files.Close)
	template := fmt.Sprintf(`{"agent": {"process": {"command": ["bin/versionsrv"], "stop_timeout_seconds": 5},
		"config": [{"path": "config/addr", "content": "{ip}:%[1]s\n"}],
		"health": {"kind": "HTTP", "url": "http://{ip}:%[1]s/version", "expect": "{version}", "timeout_ms": 1000, "attempts": 100, "interval_ms": 50},
		"timeout_seconds": 120}}`, port)
	var pkgs []stack.BulkPackage
	for _, v := range []string{"1.0.0", "2.0.0"} {
		path, sum := agenttest.Package(t, pkgDir, v)
		if v == "2.0.0" && corruptV2 {
			// The registered checksum is not the archive's.
			sum = "sha256:" + strings.Repeat("0", 64)
		}
		p := testPkg("VERSIONSRV", v, 1)
		p.Info.Checksum = sum
		p.Info.Source = stack.Source{Kind: stack.SourceTar, URI: files.URL + "/" + filepath.Base(path)}
		p.Operations = json.RawMessage(template)
		pkgs = append(pkgs, p)
	}
	versions := loadStack(t, pool, "DEMO", pkgs, map[string][]stack.PackageRef{
		"1": refs("VERSIONSRV", "1.0.0"), "2": refs("VERSIONSRV", "2.0.0")})
	_, err = pool.Exec(bg, `DELETE FROM host_component c USING host h WHERE h.id = c.host_id AND h.cluster_id = $1`, clusterID)
	require.NoError(t, err)
	_, err = pool.Exec(bg, `INSERT INTO host_component (host_id, service, component, version)
		SELECT h.id, 'VERSIONSRV', 'SERVER', '1.0.0' FROM host h WHERE h.cluster_id = $1`, clusterID)
	require.NoError(t, err)
	_, err = pool.Exec(bg, `UPDATE cluster SET stack_version_id = $2 WHERE id = $1`, clusterID, versions["1"])
	require.NoError(t, err)

	// The server side: the agents' task queue and API.
	srv := agenttest.NewServer(t, pool, logger)
	exec := aquila.NewAgentExecutor(pool, srv.Tasks, aquila.AgentConfig{Poll: 100 * time.Millisecond, AdmitWait: time.Minute})
	f := &agentFleet{pool: pool, exec: exec, clusterID: clusterID, versions: versions, port: port, net: subnet, spare: spare, server: srv.URL, logger: logger,
		hosts: hosts, roots: map[int64]string{}}
	for _, c := range agentCfg {
		f.agentCfg = c
	}

	// Three real agents.
	for _, h := range hosts {
		f.startAgent(t, h.id, h.name)
	}
	answers := func() []string {
		out := make([]string, len(hosts))
		for i, h := range hosts {
			out[i] = agenttest.Serving(h.addr + ":" + port)
		}
		return out
	}

	f.answers = answers

	// Every host runs 1.0.0 to begin with (deployed through the executor itself).
	var v1ID, v2ID int64
	require.NoError(t, pool.QueryRow(bg, `SELECT id FROM service_package WHERE service = 'VERSIONSRV' AND version = '1.0.0'`).Scan(&v1ID))
	require.NoError(t, pool.QueryRow(bg, `SELECT id FROM service_package WHERE service = 'VERSIONSRV' AND version = '2.0.0'`).Scan(&v2ID))
	initial, _ := json.Marshal(aquila.UpgradeTaskParams{Services: []aquila.ServiceStep{{Service: "VERSIONSRV", Version: "1.0.0", PackageID: v1ID}}})
	var setup sync.WaitGroup
	for i, h := range hosts {
		setup.Go(func() {
			res, err := exec.Run(bg, aquila.Task{TaskID: 100000 + int64(i), Attempt: 1, HostID: h.id, Hostname: h.name,
				Action: aquila.ActionUpgrade, Params: initial})
			require.NoError(t, err, res.Output)
		})
	}
	setup.Wait()
	require.Equal(t, []string{"1.0.0", "1.0.0", "1.0.0"}, answers())

	return f
}

// TestAgentExecutorUpgradesRollingAndRollsBack: three real agents on this
// machine, each host running the versionsrv package 1.0.0 (an HTTP server
// answering its version). An UPGRADE to the stack version with 2.0.0 runs
// rolling, one host a batch, through the agent executor: between batches the
// upgraded hosts answer 2.0.0 and the others still 1.0.0. The rollback brings
// every host back to 1.0.0, and the cluster's stack version follows.
func TestAgentExecutorUpgradesRollingAndRollsBack(t *testing.T) {
	t.Parallel()
	f := newAgentFleet(t, false)
	pool, exec, clusterID, versions, answers := f.pool, f.exec, f.clusterID, f.versions, f.answers
	bg := context.Background()
	ctx := operatorCtx()
	// The upgrade: rolling, one host a batch, pausing after the first.
	gate := make(chan struct{})
	cfg := testConfig()
	cfg.TaskLease = 30 * time.Second
	e, _ := startEngine(t, pool, gatedExecutor{exec, gate}, cfg)
	svc := newService(pool, e)
	req := upgradeReq(clusterID, versions["2"], aquila.UpgradeParams{BatchPercent: 34, PauseAfterFirstBatch: true})
	req.MaxOutOfServicePct = 34
	op, checks, err := svc.Upgrade(ctx, req)
	require.NoError(t, err, "%+v", checks)
	require.Equal(t, 3, op.TasksTotal)

	succeeded := func(n int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d tasks succeeded", n), func() bool {
			o, err := svc.Operation(ctx, op.ID)
			require.NoError(t, err)
			require.Zero(t, o.TasksFailed, "a task failed: %+v", o)
			return o.TasksSucceeded == n
		})
	}
	gate <- struct{}{}
	succeeded(1)
	waitState(t, svc, op.ID, aquila.Paused)
	require.Equal(t, []string{"2.0.0", "1.0.0", "1.0.0"}, answers(), "after the first batch (paused)")
	_, err = svc.Resume(ctx, op.ID)
	require.NoError(t, err)
	gate <- struct{}{}
	succeeded(2)
	require.Equal(t, []string{"2.0.0", "2.0.0", "1.0.0"}, answers(), "after the second batch")
	gate <- struct{}{}
	waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, []string{"2.0.0", "2.0.0", "2.0.0"}, answers())
	require.Equal(t, versions["2"], clusterVersion(t, pool, clusterID))
	require.Equal(t, map[string]int{"VERSIONSRV 2.0.0": 3}, componentVersions(t, pool, clusterID))
	var output string
	require.NoError(t, pool.QueryRow(bg, `SELECT output FROM operation_task WHERE operation_id = $1 ORDER BY id LIMIT 1`, op.ID).Scan(&output))
	require.Contains(t, output, "DEPLOY VERSIONSRV 2.0.0: SUCCEEDED")
	require.Contains(t, output, "health OK")

	// Rollback: the same batches, last first, back to 1.0.0.
	_, err = svc.Rollback(ctx, op.ID)
	require.NoError(t, err)
	gate <- struct{}{}
	waitFor(t, "the last host rolled back", func() bool { return answers()[2] == "1.0.0" })
	require.Equal(t, []string{"2.0.0", "2.0.0", "1.0.0"}, answers(), "the rollback goes batch by batch")
	close(gate)
	waitState(t, svc, op.ID, aquila.RolledBack)
	require.Equal(t, []string{"1.0.0", "1.0.0", "1.0.0"}, answers())
	require.Equal(t, versions["1"], clusterVersion(t, pool, clusterID))
	require.Equal(t, map[string]int{"VERSIONSRV 1.0.0": 3}, componentVersions(t, pool, clusterID))

	var n int
	require.NoError(t, pool.QueryRow(bg, `SELECT count(*) FROM agent_task WHERE state = 'SUCCEEDED'`).Scan(&n))
	require.Equal(t, 9, n, "three deploys of 1.0.0, three of 2.0.0, three back: each run once")
}

// TestAgentExecutorFailedDeployPausesAndRollsBack: the 2.0.0 package's
// registered checksum is wrong, so the first host's deploy fails (nothing is
// unpacked, 1.0.0 keeps serving); with no failure budget the upgrade pauses,
// the task's output has the agent's steps, the component is FAILED, and the
// rollback puts 1.0.0 back without fetching it again.
func TestAgentExecutorFailedDeployPausesAndRollsBack(t *testing.T) {
	t.Parallel()
	f := newAgentFleet(t, true)
	ctx := operatorCtx()
	bg := context.Background()
	e, _ := startEngine(t, f.pool, f.exec, testConfig())
	svc := newService(f.pool, e)
	req := upgradeReq(f.clusterID, f.versions["2"], aquila.UpgradeParams{BatchPercent: 34})
	req.MaxOutOfServicePct = 34
	op, checks, err := svc.Upgrade(ctx, req)
	require.NoError(t, err, "%+v", checks)
	op = waitState(t, svc, op.ID, aquila.Paused)
	require.Equal(t, 1, op.TasksFailed)
	require.Equal(t, []string{"1.0.0", "1.0.0", "1.0.0"}, f.answers(), "a failed fetch leaves the running version alone")
	var output string
	require.NoError(t, f.pool.QueryRow(bg, `SELECT output FROM operation_task WHERE operation_id = $1 AND state = 'FAILED'`, op.ID).Scan(&output))
	require.Contains(t, output, "DEPLOY VERSIONSRV 2.0.0: FAILED")
	require.Contains(t, output, "fetch FAILED")
	require.Contains(t, output, "checksum mismatch")
	var state string
	require.NoError(t, f.pool.QueryRow(bg, `SELECT c.actual_state FROM host_component c JOIN operation_task t ON t.host_id = c.host_id
		WHERE t.operation_id = $1 AND t.state = 'FAILED'`, op.ID).Scan(&state))
	require.Equal(t, "FAILED", state)

	_, err = svc.Rollback(ctx, op.ID)
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.RolledBack)
	require.Equal(t, []string{"1.0.0", "1.0.0", "1.0.0"}, f.answers())
	require.Equal(t, map[string]int{"VERSIONSRV 1.0.0": 3}, componentVersions(t, f.pool, f.clusterID))
	require.NoError(t, f.pool.QueryRow(bg, `SELECT output FROM operation_task t JOIN operation_stage s ON s.id = t.stage_id
		WHERE t.operation_id = $1 AND s.rollback`, op.ID).Scan(&output))
	require.Contains(t, output, "fetch SKIPPED")
}
