package aquila_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/stack"
)

const testSum = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// testPkg is a package of service at version depending on deps (service → constraint).
func testPkg(service, version string, order int, deps ...string) stack.BulkPackage {
	p := stack.BulkPackage{PackageInput: stack.PackageInput{Service: service,
		Info: stack.VersionInfo{Version: version, Checksum: testSum,
			Source: stack.Source{Kind: stack.SourceTar, URI: fmt.Sprintf("https://repo.example/%s-%s.tar.gz", service, version)}},
		Ops: stack.Operation{StartOrder: order, StopOrder: order, Restart: stack.Restart{Policy: stack.RestartNever}}}}
	for i := 0; i+1 < len(deps); i += 2 {
		p.Ops.DependsOn = append(p.Ops.DependsOn, stack.Dependency{Service: deps[i], Constraint: deps[i+1]})
	}
	return p
}

// loadStack registers pkgs and the versions of stack name (version → its
// packages), and returns the versions' ids.
func loadStack(t testing.TB, pool *pgxpool.Pool, name string, pkgs []stack.BulkPackage, versions map[string][]stack.PackageRef) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	bs := stack.BulkStack{Name: name}
	for v, refs := range versions {
		bs.Versions = append(bs.Versions, stack.BulkVersion{Version: v, Released: time.Now(), Packages: refs})
	}
	require.NoError(t, db.InTx(ctx, pool, func(tx pgx.Tx) error {
		_, err := stack.Load(ctx, tx, time.Now(), []stack.BulkStack{bs}, pkgs)
		return err
	}))
	rows, err := pool.Query(ctx, `SELECT v.version, v.id FROM stack_version v JOIN stack s ON s.id = v.stack_id WHERE s.name = $1`, name)
	require.NoError(t, err)
	out := map[string]int64{}
	for rows.Next() {
		var v string
		var id int64
		require.NoError(t, rows.Scan(&v, &id))
		out[v] = id
	}
	require.NoError(t, rows.Err())
	return out
}

func refs(kv ...string) []stack.PackageRef {
	var out []stack.PackageRef
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, stack.PackageRef{Service: kv[i], Version: kv[i+1]})
	}
	return out
}

// tdp is a three-service stack, ZK ← HDFS ← YARN, at 1.0 and 2.0, with a
// partial 2.1 upgrading HDFS alone.
type tdp struct {
	cluster  int64
	hosts    []int64
	versions map[string]int64
}

func newTDP(t *testing.T, pool *pgxpool.Pool, hosts int) tdp {
	t.Helper()
	return newTDPs(t, pool, 1, hosts)[0]
}

// newTDPs makes n clusters of hosts each (every host ONLINE but every fifth,
// in MAINTENANCE), all on TDP 1.0.
func newTDPs(t *testing.T, pool *pgxpool.Pool, n, hosts int) []tdp {
	t.Helper()
	ctx := context.Background()
	clusterIDs := fixture.Bulk(t, pool, n, hosts)
	pkgs := []stack.BulkPackage{
		testPkg("ZK", "1.0", 1), testPkg("ZK", "2.0", 1),
		testPkg("HDFS", "1.0", 2, "ZK", ">=1"), testPkg("HDFS", "2.0", 2, "ZK", ">=1"), testPkg("HDFS", "2.1", 2, "ZK", ">=1"),
		testPkg("YARN", "1.0", 3, "HDFS", ">=1"), testPkg("YARN", "2.0", 3, "HDFS", ">=1"),
	}
	v := loadStack(t, pool, "TDP", pkgs, map[string][]stack.PackageRef{
		"1.0": refs("ZK", "1.0", "HDFS", "1.0", "YARN", "1.0"),
		"2.0": refs("ZK", "2.0", "HDFS", "2.0", "YARN", "2.0"),
	})
	// A partial version: HDFS 2.1 alone, checked on 1.0.
	stacks := stack.NewService(pool, audit.New(pool, quiet))
	base := v["1.0"]
	pv, err := stacks.CreateStackVersion(operatorCtx(), stack.VersionInput{Stack: "TDP", Version: "2.1", Partial: true, Base: &base,
		Packages: refs("HDFS", "2.1")})
	require.NoError(t, err)
	v["2.1"] = pv.ID
	_, err = pool.Exec(ctx, `UPDATE host SET state = 'ONLINE' WHERE cluster_id = ANY($1) AND state = 'DEGRADED'`, clusterIDs)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `DELETE FROM host_component c USING host h WHERE h.id = c.host_id AND h.cluster_id = ANY($1)`, clusterIDs)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO host_component (host_id, service, component, version)
		SELECT h.id, s, s || '_SERVER', '1.0' FROM host h CROSS JOIN unnest(ARRAY['ZK','HDFS','YARN']) s WHERE h.cluster_id = ANY($1)`, clusterIDs)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE cluster SET stack_version_id = $2 WHERE id = ANY($1)`, clusterIDs, v["1.0"])
	require.NoError(t, err)
	out := make([]tdp, n)
	for i, id := range clusterIDs {
		rows, err := pool.Query(ctx, `SELECT id FROM host WHERE cluster_id = $1 ORDER BY hostname`, id)
		require.NoError(t, err)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		require.NoError(t, err)
		out[i] = tdp{cluster: id, hosts: ids, versions: v}
	}
	return out
}

func upgradeReq(cluster, version int64, p aquila.UpgradeParams) aquila.Request {
	p.StackVersionID = version
	raw, _ := json.Marshal(p)
	return aquila.Request{Kind: aquila.KindUpgrade, ClusterID: cluster, Params: raw, RequestedBy: "ops", Reason: "test"}
}

func taskServices(t *testing.T, task aquila.PlanTask) []string {
	t.Helper()
	var tp aquila.UpgradeTaskParams
	require.NoError(t, json.Unmarshal(task.Params, &tp))
	var out []string
	for _, s := range tp.Services {
		out = append(out, s.Service+" "+s.Version)
	}
	return out
}

func hostStates(t *testing.T, pool *pgxpool.Pool, hosts []int64) map[int64]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id, state FROM host WHERE id = ANY($1)`, hosts)
	require.NoError(t, err)
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var s string
		require.NoError(t, rows.Scan(&id, &s))
		out[id] = s
	}
	return out
}

func TestUpgradePlannerRollingBatchesInDependencyOrder(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := operatorCtx()
	c := newTDP(t, pool, 10)
	req := upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{BatchPercent: 20, PauseAfterFirstBatch: true})
	req.MaxOutOfServicePct = 30
	plan, err := aquila.UpgradePlanner{}.Plan(ctx, pool, req)
	require.NoError(t, err)
	states := hostStates(t, pool, c.hosts)
	// 20% of 10 hosts: two in service a batch; the MAINTENANCE hosts (every
	// fifth) ride along and are skipped by the engine.
	seen := map[int64]bool{}
	for i, s := range plan.Stages {
		require.Equal(t, fmt.Sprintf("upgrade batch %d/%d", i+1, len(plan.Stages)), s.Name)
		require.Equal(t, i == 0, s.PauseAfter, "only the first batch pauses")
		inService := 0
		for _, task := range s.Tasks {
			require.Equal(t, aquila.ActionUpgrade, task.Action)
			require.Equal(t, []string{"ZK 2.0", "HDFS 2.0", "YARN 2.0"}, taskServices(t, task), "dependencies first on every host")
			if states[task.HostID] != "MAINTENANCE" {
				inService++
			}
			require.False(t, seen[task.HostID])
			seen[task.HostID] = true
		}
		require.LessOrEqual(t, inService, 2)
	}
	require.Len(t, seen, 10)
	require.Len(t, plan.Stages, 4)
	var p aquila.UpgradeParams
	require.NoError(t, json.Unmarshal(plan.Params, &p))
	require.Equal(t, c.versions["1.0"], *p.PreviousStackVersionID)
	require.Len(t, p.Changes, 3)

	// The out-of-service cap wins over a larger batch.
	req = upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{BatchPercent: 50})
	req.MaxOutOfServicePct = 10
	plan, err = aquila.UpgradePlanner{}.Plan(ctx, pool, req)
	require.NoError(t, err)
	for _, s := range plan.Stages {
		n := 0
		for _, task := range s.Tasks {
			if states[task.HostID] != "MAINTENANCE" {
				n++
			}
		}
		require.Equal(t, 1, n)
	}

	// A partial version upgrades its services only; a subset likewise.
	plan, err = aquila.UpgradePlanner{}.Plan(ctx, pool, upgradeReq(c.cluster, c.versions["2.1"], aquila.UpgradeParams{}))
	require.NoError(t, err)
	for _, s := range plan.Stages {
		for _, task := range s.Tasks {
			require.Equal(t, []string{"HDFS 2.1"}, taskServices(t, task))
		}
	}
	plan, err = aquila.UpgradePlanner{}.Plan(ctx, pool, upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{Services: []string{"zk"}}))
	require.NoError(t, err)
	require.Equal(t, []string{"ZK 2.0"}, taskServices(t, plan.Stages[0].Tasks[0]))

	// Hosts already at the target get no step for it.
	_, err = pool.Exec(context.Background(), `UPDATE host_component SET version = '2.0' WHERE service = 'ZK' AND host_id = $1`, c.hosts[0])
	require.NoError(t, err)
	plan, err = aquila.UpgradePlanner{}.Plan(ctx, pool, upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{}))
	require.NoError(t, err)
	require.Equal(t, c.hosts[0], plan.Stages[0].Tasks[0].HostID)
	require.Equal(t, []string{"HDFS 2.0", "YARN 2.0"}, taskServices(t, plan.Stages[0].Tasks[0]))
}

func TestUpgradePlannerExpressStopsDependentsFirst(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	c := newTDP(t, pool, 5)
	plan, err := aquila.UpgradePlanner{}.Plan(operatorCtx(), pool, upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{Strategy: "express"}))
	require.NoError(t, err)
	var names []string
	for _, s := range plan.Stages {
		names = append(names, s.Name)
		require.Len(t, s.Tasks, 5)
	}
	require.Equal(t, []string{"stop YARN", "stop HDFS", "stop ZK", "deploy ZK 2.0", "deploy HDFS 2.0", "deploy YARN 2.0"}, names)
	require.Equal(t, 100, plan.MaxOutOfServicePct)
	require.Equal(t, aquila.ActionStopService, plan.Stages[0].Tasks[0].Action)
}

func TestUpgradePlannerRefusals(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := operatorCtx()
	c := newTDP(t, pool, 5)
	plan := func(version int64, p aquila.UpgradeParams) error {
		_, err := aquila.UpgradePlanner{}.Plan(ctx, pool, upgradeReq(c.cluster, version, p))
		return err
	}
	requireField := func(err error, field, contains string) {
		t.Helper()
		f, ok := fault.As(err)
		require.True(t, ok, "got %v", err)
		require.Equal(t, fault.Invalid, f.Kind)
		require.Equal(t, field, f.Field)
		require.Contains(t, f.Message, contains)
	}
	requireField(plan(999999, aquila.UpgradeParams{}), "params.stackVersionId", "does not exist")
	requireField(plan(c.versions["1.0"], aquila.UpgradeParams{}), "params.stackVersionId", "nothing to upgrade")
	// Also when the hosts drifted from the version the cluster is on (a
	// service the version holds that no host runs): the current version is
	// no upgrade.
	_, err0 := pool.Exec(ctx, `DELETE FROM host_component c USING host h WHERE h.id = c.host_id AND h.cluster_id = $1 AND c.service = 'YARN'`, c.cluster)
	require.NoError(t, err0)
	requireField(plan(c.versions["1.0"], aquila.UpgradeParams{}), "params.stackVersionId", "already on stack version TDP 1.0")
	_, err0 = pool.Exec(ctx, `INSERT INTO host_component (host_id, service, component, version)
		SELECT id, 'YARN', 'YARN_SERVER', '1.0' FROM host WHERE cluster_id = $1`, c.cluster)
	require.NoError(t, err0)
	requireField(plan(c.versions["2.0"], aquila.UpgradeParams{Strategy: "FAST"}), "params.strategy", "ROLLING or EXPRESS")
	requireField(plan(c.versions["2.1"], aquila.UpgradeParams{Services: []string{"YARN"}}), "params.services", "does not change service YARN")
	_, err := aquila.UpgradePlanner{}.Plan(ctx, pool, upgradeReq(424242, c.versions["2.0"], aquila.UpgradeParams{}))
	require.True(t, fault.Is(err, fault.NotFound), "got %v", err)

	// A dependency cycle the cluster's set would form.
	cyc := cycleVersion(t, pool, c)
	err = plan(cyc, aquila.UpgradeParams{})
	require.True(t, fault.Is(err, fault.Invalid), "got %v", err)
	require.Contains(t, err.Error(), "cycle")
}

// cycleVersion adds a partial version whose ZK 3.0 depends on YARN, which
// closes ZK ← HDFS ← YARN ← ZK on the cluster (written directly: the stack
// service refuses such a version, but one may predate the check).
func cycleVersion(t *testing.T, pool *pgxpool.Pool, c tdp) int64 {
	t.Helper()
	ctx := context.Background()
	var stackName string
	require.NoError(t, pool.QueryRow(ctx, `SELECT s.name FROM stack s JOIN stack_version v ON v.stack_id = s.id WHERE v.id = $1`, c.versions["1.0"]).Scan(&stackName))
	stacks := stack.NewService(pool, audit.New(pool, quiet))
	p := testPkg("ZK", "3.0", 1)
	_, err := stacks.RegisterServicePackage(operatorCtx(), p.PackageInput)
	require.NoError(t, err)
	base := c.versions["1.0"]
	v, err := stacks.CreateStackVersion(operatorCtx(), stack.VersionInput{Stack: stackName, Version: "3.0", Partial: true, Base: &base, Packages: refs("ZK", "3.0")})
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO service_package_dependency (package_id, service, version_constraint, position)
		SELECT id, 'YARN', '*', 0 FROM service_package WHERE service = 'ZK' AND version = '3.0'`)
	require.NoError(t, err)
	return v.ID
}

func checkMap(checks []aquila.Check) map[string]aquila.CheckStatus {
	out := map[string]aquila.CheckStatus{}
	for _, c := range checks {
		out[c.Name] = c.Status
	}
	return out
}

func TestPreCheckUpgrade(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := operatorCtx()
	bg := context.Background()
	c := newTDP(t, pool, 10)
	e, err := aquila.NewEngine(pool, nil, quiet, aquila.EngineConfig{NoWork: true})
	require.NoError(t, err)
	svc := newService(pool, e)
	// Every host ONLINE but the two in MAINTENANCE.
	_, err = pool.Exec(bg, `UPDATE host SET state = 'ONLINE' WHERE cluster_id = $1 AND state = 'DEGRADED'`, c.cluster)
	require.NoError(t, err)
	req := upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{BatchPercent: 10})
	checks, err := svc.PreCheckUpgrade(ctx, req)
	require.NoError(t, err)
	require.Equal(t, map[string]aquila.CheckStatus{"stackVersion": "PASS", "dependencies": "PASS", "changes": "PASS",
		"hostHealth": "PASS", "waterLevel": "WARNING", "activeOperation": "PASS"}, checkMap(checks), "%+v", checks)

	// Water level: 95% CPU leaves no room for a 10% batch; 50% does.
	_, err = pool.Exec(bg, `INSERT INTO watermark_latest (cluster_id, dimension, ts, used, capacity, hosts)
		VALUES ($1, 'CPU', now(), 95, 100, 10), ($1, 'MEMORY', now(), 40, 100, 10)`, c.cluster)
	require.NoError(t, err)
	checks, err = svc.PreCheckUpgrade(ctx, req)
	require.NoError(t, err)
	require.Equal(t, aquila.CheckFail, checkMap(checks)["waterLevel"])
	_, _, err = svc.Upgrade(ctx, req)
	require.True(t, fault.Is(err, fault.Invalid), "got %v", err)
	require.Contains(t, err.Error(), "waterLevel: CPU is at 95% of capacity")
	var outcome, reason string
	require.NoError(t, pool.QueryRow(bg, `SELECT outcome, error FROM audit_log WHERE action = 'startOperation' ORDER BY id DESC LIMIT 1`).
		Scan(&outcome, &reason))
	require.Equal(t, "FAILED", outcome, "a refused upgrade is audited")
	require.Contains(t, reason, "waterLevel")
	_, err = pool.Exec(bg, `UPDATE watermark_latest SET used = 50 WHERE cluster_id = $1`, c.cluster)
	require.NoError(t, err)
	require.Equal(t, aquila.CheckPass, checkMap(must(svc.PreCheckUpgrade(ctx, req)))["waterLevel"])

	// Hosts: one of ten DEGRADED warns, three fail.
	_, err = pool.Exec(bg, `UPDATE host SET state = 'DEGRADED' WHERE id = $1`, c.hosts[0])
	require.NoError(t, err)
	require.Equal(t, aquila.CheckWarning, checkMap(must(svc.PreCheckUpgrade(ctx, req)))["hostHealth"])
	_, err = pool.Exec(bg, `UPDATE host SET state = 'OFFLINE' WHERE id = ANY($1)`, c.hosts[1:3])
	require.NoError(t, err)
	require.Equal(t, aquila.CheckFail, checkMap(must(svc.PreCheckUpgrade(ctx, req)))["hostHealth"])
	// One host OFFLINE fills the share of a ten-host cluster at 10%: the
	// check says the upgrade would wait.
	_, err = pool.Exec(bg, `UPDATE host SET state = 'ONLINE' WHERE id = ANY($1)`, c.hosts[:2])
	require.NoError(t, err)
	checks = must(svc.PreCheckUpgrade(ctx, req))
	i := slices.IndexFunc(checks, func(c aquila.Check) bool { return c.Name == aquila.CheckHostHealth })
	require.Equal(t, aquila.CheckWarning, checks[i].Status)
	require.Contains(t, checks[i].Message, "the 1 OFFLINE or REPAIRING fill the out-of-service share (1 host(s) at once): the upgrade will wait")
	_, err = pool.Exec(bg, `UPDATE host SET state = 'ONLINE' WHERE id = ANY($1)`, c.hosts[:3])
	require.NoError(t, err)

	// The version: unknown, the current one, a cycle.
	m := checkMap(must(svc.PreCheckUpgrade(ctx, upgradeReq(c.cluster, 999999, aquila.UpgradeParams{}))))
	require.Equal(t, aquila.CheckFail, m["stackVersion"])
	m = checkMap(must(svc.PreCheckUpgrade(ctx, upgradeReq(c.cluster, c.versions["1.0"], aquila.UpgradeParams{}))))
	require.Equal(t, aquila.CheckFail, m["changes"])
	m = checkMap(must(svc.PreCheckUpgrade(ctx, upgradeReq(c.cluster, cycleVersion(t, pool, c), aquila.UpgradeParams{}))))
	require.Equal(t, aquila.CheckFail, m["dependencies"])

	// An operation in progress, named.
	op, checks, err := svc.Upgrade(ctx, req)
	require.NoError(t, err, "%+v", checks)
	checks = must(svc.PreCheckUpgrade(ctx, req))
	require.Equal(t, aquila.CheckFail, checkMap(checks)["activeOperation"])
	_, _, err = svc.Upgrade(ctx, req)
	require.Contains(t, err.Error(), fmt.Sprintf("operation %d (UPGRADE, PENDING)", op.ID))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
