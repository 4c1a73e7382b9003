package aquila_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/stack"
)

// fullStack is a cluster on FULL 1.0 — ZK; HDFS (ZK); YARN (HDFS, AUTH);
// AUTH; MON (HDFS) — going to the full version 2.0, which adds KMS (ZK),
// needed by HDFS 2.0, and SPARK (YARN), and drops AUTH (which YARN 1.0
// needs until it runs 2.0) and MON (which nothing needs).
type fullStack struct {
	cluster  int64
	hosts    []int64 // hostname order
	versions map[string]int64
}

// newFullStack: ten hosts (the fourth and ninth in MAINTENANCE); every host
// runs ZK, HDFS and AUTH; the first six YARN; the even ones MON.
func newFullStack(t *testing.T, pool *pgxpool.Pool) fullStack {
	t.Helper()
	ctx := context.Background()
	id := fixture.Bulk(t, pool, 1, 10)[0]
	pkgs := []stack.BulkPackage{
		testPkg("ZK", "1.0", 1), testPkg("ZK", "2.0", 1),
		testPkg("AUTH", "1.0", 1),
		testPkg("KMS", "2.0", 2, "ZK", ">=2"),
		testPkg("HDFS", "1.0", 3, "ZK", ">=1"), testPkg("HDFS", "2.0", 3, "ZK", ">=2", "KMS", ">=2"),
		testPkg("YARN", "1.0", 4, "HDFS", ">=1", "AUTH", ">=1"), testPkg("YARN", "2.0", 4, "HDFS", ">=2"),
		testPkg("MON", "1.0", 5, "HDFS", ">=1"),
		testPkg("SPARK", "2.0", 5, "YARN", ">=2"),
	}
	v := loadStack(t, pool, "FULL", pkgs, map[string][]stack.PackageRef{
		"1.0": refs("ZK", "1.0", "AUTH", "1.0", "HDFS", "1.0", "YARN", "1.0", "MON", "1.0"),
		"2.0": refs("ZK", "2.0", "KMS", "2.0", "HDFS", "2.0", "YARN", "2.0", "SPARK", "2.0"),
	})
	_, err := pool.Exec(ctx, `UPDATE host SET state = 'ONLINE' WHERE cluster_id = $1 AND state = 'DEGRADED'`, id)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `DELETE FROM host_component c USING host h WHERE h.id = c.host_id AND h.cluster_id = $1`, id)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `WITH h AS (SELECT id, row_number() OVER (ORDER BY hostname) - 1 AS i FROM host WHERE cluster_id = $1)
		INSERT INTO host_component (host_id, service, component, version)
		SELECT h.id, s.service, s.component, '1.0' FROM h CROSS JOIN (VALUES
			('ZK', 'ZK_SERVER', 0, 1), ('HDFS', 'DATANODE', 0, 1), ('AUTH', 'AUTH_AGENT', 0, 1), ('AUTH', 'AUTH_CACHE', 0, 1),
			('YARN', 'NODEMANAGER', 0, 0), ('MON', 'MON_AGENT', 0, 2)) AS s(service, component, lo, every)
		WHERE (s.service <> 'YARN' OR h.i < 6) AND (s.every <> 2 OR h.i % 2 = 0)`, id)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE cluster SET stack_version_id = $2 WHERE id = $1`, id, v["1.0"])
	require.NoError(t, err)
	rows, err := pool.Query(ctx, `SELECT id FROM host WHERE cluster_id = $1 ORDER BY hostname`, id)
	require.NoError(t, err)
	var hosts []int64
	for rows.Next() {
		var h int64
		require.NoError(t, rows.Scan(&h))
		hosts = append(hosts, h)
	}
	return fullStack{cluster: id, hosts: hosts, versions: v}
}

func stepsOf(t *testing.T, task aquila.PlanTask) []aquila.ServiceStep {
	t.Helper()
	var tp aquila.UpgradeTaskParams
	require.NoError(t, json.Unmarshal(task.Params, &tp))
	return tp.Services
}

func TestUpgradePlannerFullVersionAddsAndRemovesServices(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	c := newFullStack(t, pool)
	req := upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{BatchPercent: 20, PauseAfterFirstBatch: true})
	req.MaxOutOfServicePct = 20
	plan, err := aquila.UpgradePlanner{}.Plan(operatorCtx(), pool, req)
	require.NoError(t, err)

	var p aquila.UpgradeParams
	require.NoError(t, json.Unmarshal(plan.Params, &p))
	var added, removed, changed []string
	for _, a := range p.Added {
		added = append(added, a.Service+" "+a.To)
	}
	for _, r := range p.Removed {
		removed = append(removed, r.Service+" "+r.From)
	}
	for _, ch := range p.Changes {
		changed = append(changed, ch.Service)
	}
	require.Equal(t, []string{"KMS 2.0", "SPARK 2.0"}, added, "added services in start order")
	require.ElementsMatch(t, []string{"AUTH 1.0", "MON 1.0"}, removed)
	require.Equal(t, []string{"ZK", "HDFS", "YARN"}, changed)

	// The first batch (two hosts in service, hostname order: hosts 0 and 1)
	// runs its phases one after another: MON removed first (nothing needs
	// it), ZK upgraded, KMS installed (HDFS 2.0 needs it), HDFS and YARN
	// upgraded, SPARK installed (on YARN hosts), AUTH removed last (YARN 1.0
	// needed it). Only the batch's last stage pauses.
	var first []string
	for _, s := range plan.Stages {
		if strings.HasPrefix(s.Name, "upgrade batch 1/") {
			first = append(first, s.Name[strings.Index(s.Name, ": ")+2:])
			require.Equal(t, s.Name == plan.Stages[5].Name, s.PauseAfter, s.Name)
		}
	}
	require.Equal(t, []string{"remove MON", "upgrade ZK", "install KMS", "upgrade HDFS, YARN", "install SPARK", "remove AUTH"}, first)

	// Every host's tasks follow that order; SPARK goes where YARN runs, KMS
	// everywhere; a removal lists the host's components of the service.
	type hostTask struct {
		stage  int
		action string
		steps  []aquila.ServiceStep
	}
	byHost := map[int64][]hostTask{}
	states := hostStates(t, pool, c.hosts)
	batchHosts := map[string]map[int64]bool{}
	for i, s := range plan.Stages {
		batch := s.Name[:strings.Index(s.Name+":", ":")]
		if batchHosts[batch] == nil {
			batchHosts[batch] = map[int64]bool{}
		}
		for _, task := range s.Tasks {
			byHost[task.HostID] = append(byHost[task.HostID], hostTask{i, task.Action, stepsOf(t, task)})
			batchHosts[batch][task.HostID] = true
		}
	}
	for batch, hosts := range batchHosts {
		n := 0
		for h := range hosts {
			if states[h] != "MAINTENANCE" {
				n++
			}
		}
		require.LessOrEqual(t, n, 2, "%s: at most two hosts in service out at once", batch)
	}
	require.Len(t, byHost, 10)
	for i, h := range c.hosts {
		var got []string
		for _, ht := range byHost[h] {
			var names []string
			for _, s := range ht.steps {
				names = append(names, s.Service+" "+s.Version)
				if ht.action == aquila.ActionRemoveService && s.Service == "AUTH" {
					require.Equal(t, []string{"AUTH_AGENT", "AUTH_CACHE"}, s.Components)
				}
			}
			got = append(got, ht.action+" "+strings.Join(names, ","))
		}
		want := []string{}
		if i%2 == 0 {
			want = append(want, "REMOVE_SERVICE MON 1.0")
		}
		want = append(want, "UPGRADE ZK 2.0", "INSTALL_SERVICE KMS 2.0")
		if i < 6 {
			want = append(want, "UPGRADE HDFS 2.0,YARN 2.0", "INSTALL_SERVICE SPARK 2.0")
		} else {
			want = append(want, "UPGRADE HDFS 2.0")
		}
		want = append(want, "REMOVE_SERVICE AUTH 1.0")
		require.Equal(t, want, got, "host %d", i)
	}

	// EXPRESS: removals before the stops (AUTH after, once YARN is down),
	// installs among the deploys in start order.
	plan, err = aquila.UpgradePlanner{}.Plan(operatorCtx(), pool, upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{Strategy: "express"}))
	require.NoError(t, err)
	var names []string
	for _, s := range plan.Stages {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"remove MON", "stop YARN", "stop HDFS", "stop ZK", "remove AUTH",
		"deploy ZK 2.0", "install KMS 2.0", "deploy HDFS 2.0", "deploy YARN 2.0", "install SPARK 2.0"}, names)
	require.Len(t, plan.Stages[0].Tasks, 5, "MON runs on the even hosts")
	require.Len(t, plan.Stages[9].Tasks, 6, "SPARK goes where YARN runs")

	// Naming a service restricts the upgrade to it, added or removed alike.
	plan, err = aquila.UpgradePlanner{}.Plan(operatorCtx(), pool, upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{Services: []string{"mon"}}))
	require.NoError(t, err)
	for _, s := range plan.Stages {
		for _, task := range s.Tasks {
			require.Equal(t, aquila.ActionRemoveService, task.Action)
		}
	}
}

// components lists the cluster's in-service components as
// "SERVICE/COMPONENT VERSION" → hosts.
func components(t *testing.T, pool *pgxpool.Pool, cluster int64) map[string]int {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT c.service || '/' || c.component || ' ' || c.version || ' ' || c.actual_state, count(*)::int
		FROM host_component c JOIN host h ON h.id = c.host_id WHERE h.cluster_id = $1 AND h.state <> 'MAINTENANCE' GROUP BY 1`, cluster)
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

// TestUpgradeFullVersionRunsAndRollsBack runs the full-version upgrade on the
// simulated fleet: removed services' components are gone, added ones placed,
// the rest at 2.0; the rollback puts every component back as it was.
func TestUpgradeFullVersionRunsAndRollsBack(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := operatorCtx()
	c := newFullStack(t, pool)
	before := components(t, pool, c.cluster)
	exec := aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: time.Millisecond})
	e, _ := startEngine(t, pool, exec, testConfig())
	svc := newService(pool, e)
	req := upgradeReq(c.cluster, c.versions["2.0"], aquila.UpgradeParams{BatchPercent: 30})
	req.MaxOutOfServicePct = 30
	req.Kind = ""
	op, checks, err := svc.Upgrade(ctx, req)
	require.NoError(t, err)
	i := slices.IndexFunc(checks, func(c aquila.Check) bool { return c.Name == aquila.CheckChanges })
	require.Contains(t, checks[i].Message, "KMS added at 2.0")
	require.Contains(t, checks[i].Message, "MON 1.0 removed")
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Zero(t, op.TasksFailed)

	// Eight hosts in service (two in MAINTENANCE are skipped): hosts 0-5
	// but 3 run YARN, so SPARK lands on five of them.
	require.Equal(t, map[string]int{
		"ZK/ZK_SERVER 2.0 STARTED": 8, "HDFS/DATANODE 2.0 STARTED": 8, "YARN/NODEMANAGER 2.0 STARTED": 5,
		"KMS/KMS 2.0 STARTED": 8, "SPARK/SPARK 2.0 STARTED": 5,
	}, components(t, pool, c.cluster))
	require.Equal(t, c.versions["2.0"], clusterVersion(t, pool, c.cluster))

	_, err = svc.Rollback(ctx, op.ID)
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.RolledBack)
	require.Equal(t, before, components(t, pool, c.cluster), "every component back, removed services with their own components")
	require.Equal(t, c.versions["1.0"], clusterVersion(t, pool, c.cluster))
}
