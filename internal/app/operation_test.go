package app

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/fixture"
)

// Operations through the real handler: an operator restarts a cluster; a
// second operation on it is a CONFLICT naming the first; a viewer may read
// but not act, and sees no actions; a working engine (another replica) runs
// it to SUCCEEDED while the operationProgress subscription reports it; the
// operation reads back with its stages, tasks and events; pause, resume and
// abort follow the state, and every action is audited.
func TestOperationsThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cluster := model.GlobalID(model.KindCluster, e.fleet.Clusters["batch-wh-1"])
	const restart = `mutation($in: RestartClusterInput!) { restartCluster(input: $in) {
		operation { id kind state tasksTotal actions cluster { name } } userErrors { field message code } } }`
	r := e.gql(t, e.as(fixture.Viewer), restart, map[string]any{"in": map[string]any{"cluster": cluster}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	// batch-wh-1 has a host REPAIRING: the operation's share (which counts
	// it) must leave room for more than that one host.
	r = e.gql(t, e.as(fixture.Operator), restart, map[string]any{"in": map[string]any{"cluster": cluster, "batchPercent": 50,
		"maxOutOfServicePercent": 50, "reason": "kernel patch"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "restartCluster", "userErrors"), r.Raw)
	op := dig(r.Data, "restartCluster", "operation")
	opID := dig(op, "id").(string)
	require.Equal(t, "RESTART", dig(op, "kind"))
	require.Equal(t, "PENDING", dig(op, "state"))
	require.Equal(t, "batch-wh-1", dig(op, "cluster", "name"))
	require.Equal(t, []any{"PAUSE", "ABORT"}, dig(op, "actions"))

	r = e.gql(t, e.as(fixture.Admin), restart, map[string]any{"in": map[string]any{"cluster": cluster}})
	require.Equal(t, "CONFLICT", dig(r.Data, "restartCluster", "userErrors", 0, "code"), r.Raw)
	require.Contains(t, dig(r.Data, "restartCluster", "userErrors", 0, "message"), "RESTART", r.Raw)

	// A viewer reads it, with no actions; the cluster shows it as active.
	const read = `query($id: ID!) { operation(id: $id) { state actions progress tasksTotal tasksSucceeded
		stages { position name state total succeeded } events { level message }
		tasks(first: 2) { nodes { hostname action state attempts host { hostname } } pageInfo { hasNextPage endCursor } } } }`
	r = e.gql(t, e.as(fixture.Viewer), read, map[string]any{"id": opID})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{}, dig(r.Data, "operation", "actions"))
	r = e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { node(id: $id) { ... on Cluster { activeOperation { id } operations(first: 5) { nodes { id state } } } } }`,
		map[string]any{"id": cluster})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, opID, dig(r.Data, "node", "activeOperation", "id"))
	require.Equal(t, opID, dig(r.Data, "node", "operations", "nodes", 0, "id"))

	// Follow it over the websocket, then start a replica's engine.
	conn := e.wsAck(t, ctx, map[string]any{"authToken": e.as(fixture.Viewer)})
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"id": "p", "type": "subscribe",
		"payload": map[string]any{"query": `subscription($id: ID!) { operationProgress(id: $id) { state tasksSucceeded } }`, "variables": map[string]any{"id": opID}}}))
	states := make(chan string, 64)
	go func() {
		for {
			var m map[string]any
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				return
			}
			if m["type"] == "next" && m["id"] == "p" {
				if s, ok := dig(m, "payload", "data", "operationProgress", "state").(string); ok {
					states <- s
				}
			}
		}
	}()
	select {
	case s := <-states:
		require.Equal(t, "PENDING", s, "the subscription starts with the operation as it is")
	case <-ctx.Done():
		t.Fatal("the subscription sent nothing")
	}
	startWorkingEngine(t, e)
	for s := ""; s != "SUCCEEDED"; {
		select {
		case s = <-states:
		case <-ctx.Done():
			t.Fatal("the subscription never reported SUCCEEDED")
		}
	}
	r = e.gql(t, e.as(fixture.Operator), read, map[string]any{"id": opID})
	require.Empty(t, r.Errors, r.Raw)
	done := dig(r.Data, "operation")
	require.Equal(t, "SUCCEEDED", dig(done, "state"))
	require.Equal(t, float64(1), dig(done, "progress"))
	require.Equal(t, dig(done, "tasksTotal"), dig(done, "tasksSucceeded"))
	require.Equal(t, []any{}, dig(done, "actions"), "a finished RESTART cannot be rolled back")
	require.NotEmpty(t, dig(done, "stages"))
	require.NotEmpty(t, dig(done, "events"))
	require.Equal(t, "SUCCEEDED", dig(done, "tasks", "nodes", 0, "state"))
	require.Equal(t, dig(done, "tasks", "nodes", 0, "hostname"), dig(done, "tasks", "nodes", 0, "host", "hostname"))
	require.Equal(t, true, dig(done, "tasks", "pageInfo", "hasNextPage"))
	r = e.gql(t, e.as(fixture.Operator), `query($id: ID!, $after: String) { operation(id: $id) { tasks(first: 2, after: $after) { nodes { hostname } } } }`,
		map[string]any{"id": opID, "after": dig(done, "tasks", "pageInfo", "endCursor")})
	require.Empty(t, r.Errors, r.Raw)
	require.NotEqual(t, dig(done, "tasks", "nodes", 0, "hostname"), dig(r.Data, "operation", "tasks", "nodes", 0, "hostname"))

	r = e.gql(t, e.as(fixture.Operator), `mutation($id: ID!) { rollbackOperation(input: { id: $id }) { operation { state } userErrors { message code } } }`,
		map[string]any{"id": opID})
	require.NotEmpty(t, dig(r.Data, "rollbackOperation", "userErrors"), "RESTART cannot be rolled back: %s", r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `query { activeOperations { id } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{}, dig(r.Data, "activeOperations"))

	var audited int
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action IN ('restartCluster', 'rollbackOperation') OR action LIKE '%peration%'`).Scan(&audited))
	require.GreaterOrEqual(t, audited, 3, "the refused, the started and the rollback refused")
}

// startWorkingEngine runs an operation engine on the test's database, as a
// replica with TESLA_OPERATIONS=simulated would, with quick tasks.
func startWorkingEngine(t *testing.T, e *testEnv) {
	t.Helper()
	eng, err := aquila.NewEngine(e.db.Pool, aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: 5 * time.Millisecond, Seed: 1}), nil,
		aquila.EngineConfig{FetchPollInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, eng.Start(ctx))
	t.Cleanup(func() {
		cancel()
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = eng.Stop(stop)
	})
}

// Scale-out and decommission through the real handler: an operator registers
// spare machines and scales a cluster out with two of them; once admitted
// they serve the cluster and have left the pool; decommissioning one returns
// it to the pool; a cluster policy that one host less would break refuses
// the next decommission, naming the limit; a viewer may do none of it.
func TestScaleOutAndDecommissionThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cluster := model.GlobalID(model.KindCluster, e.fleet.Clusters["batch-wh-1"])
	r := e.gql(t, e.as(fixture.Operator), `mutation { registerSpareHosts(input: { pool: "default", hosts: [
		{ hostname: "spare-1", region: "cn-north", cpuCores: 32, memoryBytes: 137438953472, diskBytes: 4e12 },
		{ hostname: "spare-2", region: "cn-north", cpuCores: 32, memoryBytes: 137438953472, diskBytes: 4e12 }] }) {
		hosts { id hostname state } userErrors { field message code } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Len(t, dig(r.Data, "registerSpareHosts", "hosts"), 2, r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `{ spareHosts(region: "cn-north") { nodes { hostname state } pageInfo { hasNextPage } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Len(t, dig(r.Data, "spareHosts", "nodes"), 2)

	const scale = `mutation($in: ScaleOutClusterInput!) { scaleOutCluster(input: $in) { operation { id kind state } userErrors { message code } } }`
	r = e.gql(t, e.as(fixture.Viewer), scale, map[string]any{"in": map[string]any{"cluster": cluster, "count": 2}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), scale, map[string]any{"in": map[string]any{"cluster": cluster, "count": 2, "reason": "capacity"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "scaleOutCluster", "userErrors"), r.Raw)
	require.Equal(t, "SCALE_OUT", dig(r.Data, "scaleOutCluster", "operation", "kind"))
	startWorkingEngine(t, e)
	waitOperation(t, ctx, e, dig(r.Data, "scaleOutCluster", "operation", "id").(string), "SUCCEEDED")

	r = e.gql(t, e.as(fixture.Viewer), `{ host(hostname: "spare-1") { id state cluster { name } } spareHosts { nodes { hostname } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "batch-wh-1", dig(r.Data, "host", "cluster", "name"), r.Raw)
	require.Equal(t, "ONLINE", dig(r.Data, "host", "state"))
	require.Equal(t, []any{}, dig(r.Data, "spareHosts", "nodes"), "both left the pool")
	spare1 := dig(r.Data, "host", "id").(string)

	const decommission = `mutation($in: DecommissionHostsInput!) { decommissionHosts(input: $in) { operation { id kind } userErrors { message code } } }`
	// The cluster's REPAIRING host fills the default 10% share (one host of
	// nine): a larger share leaves room for the host drained.
	r = e.gql(t, e.as(fixture.Operator), decommission, map[string]any{"in": map[string]any{"hosts": []string{spare1}, "to": "POOL", "drainTimeout": "1m",
		"maxOutOfServicePercent": 50}})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "decommissionHosts", "userErrors"), r.Raw)
	waitOperation(t, ctx, e, dig(r.Data, "decommissionHosts", "operation", "id").(string), "SUCCEEDED")
	r = e.gql(t, e.as(fixture.Viewer), `{ spareHosts { nodes { hostname lastCluster { name } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "spare-1", dig(r.Data, "spareHosts", "nodes", 0, "hostname"), r.Raw)
	require.Equal(t, "batch-wh-1", dig(r.Data, "spareHosts", "nodes", 0, "lastCluster", "name"))

	// One host less would break the cluster's minimum: refused, named.
	r = e.gql(t, e.as(fixture.Admin), `query($id: ID!) { node(id: $id) { ... on Cluster { hosts(first: 50) { nodes { id hostname state } } } } }`,
		map[string]any{"id": cluster})
	require.Empty(t, r.Errors, r.Raw)
	var online []string
	for _, h := range dig(r.Data, "node", "hosts", "nodes").([]any) {
		if dig(h, "state") == "ONLINE" {
			online = append(online, dig(h, "id").(string))
		}
	}
	r = e.gql(t, e.as(fixture.Operator), `mutation($c: ID!) { setClusterPolicy(input: { cluster: $c, minHosts: 3, minCores: 0, autoscaleMode: OFF, autoscaleMaxHosts: 0 }) {
		policy { minHosts } userErrors { message } } }`, map[string]any{"c": cluster})
	require.Equal(t, "FORBIDDEN", r.code(), "a cluster's policy is an ADMIN's: %s", r.Raw)
	r = e.gql(t, e.as(fixture.Admin), `mutation($c: ID!, $min: Int!) { setClusterPolicy(input: { cluster: $c, minHosts: $min, minCores: 0, autoscaleMode: PROPOSE, autoscaleMaxHosts: 10 }) {
		policy { minHosts autoscaleMode } userErrors { message } } }`, map[string]any{"c": cluster, "min": len(online)})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "PROPOSE", dig(r.Data, "setClusterPolicy", "policy", "autoscaleMode"), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), decommission, map[string]any{"in": map[string]any{"hosts": online[:1]}})
	ue := dig(r.Data, "decommissionHosts", "userErrors", 0)
	require.NotNil(t, ue, "a decommission under the minimum is refused: %s", r.Raw)
	require.Contains(t, dig(ue, "message"), "minimum", r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `query($c: ID!) { node(id: $c) { ... on Cluster { policy { minHosts } scaleOutProposal { id } } } scaleOutProposals { id } }`,
		map[string]any{"c": cluster})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, float64(len(online)), dig(r.Data, "node", "policy", "minHosts"))
}

// waitOperation waits for operation id to reach state, reading it through the
// API.
func waitOperation(t *testing.T, ctx context.Context, e *testEnv, id, state string) {
	t.Helper()
	for {
		r := e.gql(t, e.as(fixture.Operator), `query($id: ID!) { operation(id: $id) { state error } }`, map[string]any{"id": id})
		require.Empty(t, r.Errors, r.Raw)
		got := dig(r.Data, "operation", "state")
		if got == state {
			return
		}
		if got == "FAILED" || got == "ABORTED" || got == "PAUSED" {
			t.Fatalf("operation %s ended %v, not %s: %s", id, got, state, r.Raw)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("operation %s never reached %s: %s", id, state, r.Raw)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Upgrades through the real handler: the pre-checks read without starting
// anything and name what fails (the fixture's stack lacks ZooKeeper, which
// its services depend on); such an upgrade is refused with its checks; once
// the stack is whole, an upgrade of a healthy cluster starts an UPGRADE; a
// viewer may not start one; upgradeClusters reports one outcome per cluster.
func TestUpgradeThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	online1 := model.GlobalID(model.KindCluster, e.fleet.Clusters["online-1"])
	v310 := model.GlobalID(model.KindStackVersion, e.fleet.Versions["TDP 3.1.0"])
	v320 := model.GlobalID(model.KindStackVersion, e.fleet.Versions["TDP 3.2.0"])
	const pre = `query($in: UpgradeClusterInput!) { upgradePreCheck(input: $in) { name status message } }`
	checks := func(r gqlResponse, path ...any) map[string]string {
		out := map[string]string{}
		for _, c := range dig(r.Data, path...).([]any) {
			out[dig(c, "name").(string)] = dig(c, "status").(string) + ": " + dig(c, "message").(string)
		}
		return out
	}
	r := e.gql(t, e.as(fixture.Viewer), pre, map[string]any{"in": map[string]any{"cluster": online1, "stackVersion": v310}})
	require.Empty(t, r.Errors, r.Raw)
	got := checks(r, "upgradePreCheck")
	require.Contains(t, got["dependencies"], "FAIL", r.Raw)
	require.Contains(t, got["dependencies"], "ZOOKEEPER", r.Raw)
	require.Contains(t, got["activeOperation"], "PASS", r.Raw)

	const upgrade = `mutation($in: UpgradeClusterInput!) { upgradeCluster(input: $in) {
		operation { id kind state } checks { name status message } userErrors { field message code } } }`
	r = e.gql(t, e.as(fixture.Operator), upgrade, map[string]any{"in": map[string]any{"cluster": online1, "stackVersion": v310}})
	require.Empty(t, r.Errors, r.Raw)
	require.NotEmpty(t, dig(r.Data, "upgradeCluster", "userErrors"), r.Raw)
	require.Nil(t, dig(r.Data, "upgradeCluster", "operation"))
	require.Contains(t, checks(r, "upgradeCluster", "checks")["dependencies"], "FAIL", "the checks come with the refusal")
	r = e.gql(t, e.as(fixture.Viewer), upgrade, map[string]any{"in": map[string]any{"cluster": online1, "stackVersion": v310}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)

	// Make the stack whole and add two healthy clusters on 3.1.0.
	_, err := e.db.Pool.Exec(ctx, `WITH zk AS (INSERT INTO service_package (service, version, source_kind, source_uri)
			VALUES ('ZOOKEEPER', '3.8.4', 'RPM', 'rpm://repo/ZOOKEEPER-3.8.4') RETURNING id)
		INSERT INTO stack_version_package SELECT v.id, zk.id FROM zk, stack_version v`)
	require.NoError(t, err)
	up := map[string]string{}
	for _, name := range []string{"up-1", "up-2"} {
		var id int64
		require.NoError(t, e.db.Pool.QueryRow(ctx, `INSERT INTO cluster (name, region, kind, stack_version_id) VALUES ($1, 'cn-north', 'BATCH', $2) RETURNING id`,
			name, e.fleet.Versions["TDP 3.1.0"]).Scan(&id))
		_, err = e.db.Pool.Exec(ctx, `WITH h AS (INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps, state, last_heartbeat)
				SELECT $1, $2 || '-n' || g, 32, 137438953472, 4e12, 25e9, 'ONLINE', now() FROM generate_series(1, 4) g RETURNING id)
			INSERT INTO host_component (host_id, service, component, version)
			SELECT h.id, s.service, s.component, '3.1.0' FROM h, (VALUES ('HDFS', 'DATANODE'), ('YARN', 'NODEMANAGER'), ('ZOOKEEPER', 'SERVER')) s(service, component)`,
			id, name)
		require.NoError(t, err)
		up[name] = model.GlobalID(model.KindCluster, id)
	}
	r = e.gql(t, e.as(fixture.Operator), upgrade, map[string]any{"in": map[string]any{"cluster": up["up-1"], "stackVersion": v320,
		"strategy": "ROLLING", "batchPercent": 25, "pauseAfterFirstBatch": true, "reason": "3.2.0"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "upgradeCluster", "userErrors"), r.Raw)
	require.Equal(t, "UPGRADE", dig(r.Data, "upgradeCluster", "operation", "kind"), r.Raw)
	require.Contains(t, checks(r, "upgradeCluster", "checks")["dependencies"], "PASS", r.Raw)

	r = e.gql(t, e.as(fixture.Operator), `mutation($cs: [ID!]!, $v: ID!) { upgradeClusters(input: { clusters: $cs, stackVersion: $v, concurrency: 1 }) {
		outcomes { cluster { name } operation { kind } error } userErrors { message } } }`,
		map[string]any{"cs": []string{up["up-1"], up["up-2"]}, "v": v320})
	require.Empty(t, r.Errors, r.Raw)
	outcomes := dig(r.Data, "upgradeClusters", "outcomes").([]any)
	require.Len(t, outcomes, 2, r.Raw)
	require.Equal(t, "up-1", dig(outcomes[0], "cluster", "name"))
	require.NotNil(t, dig(outcomes[0], "error"), "up-1 is held by its upgrade: %s", r.Raw)
	require.Equal(t, "UPGRADE", dig(outcomes[1], "operation", "kind"), r.Raw)
}
