package aquila_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/watermark"
)

func fastSim() aquila.Executor {
	return aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: time.Millisecond, Seed: 7})
}

func adminCtx() context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Login: "admin", Role: auth.Admin, Method: auth.MethodToken})
}

func viewerCtx() context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Login: "viewer", Role: auth.Viewer, Method: auth.MethodToken})
}

// addSpares registers spare machines of 64 cores in region (us-west is the
// Bulk clusters').
func addSpares(t *testing.T, pool *pgxpool.Pool, region string, names ...string) []*inventory.SpareHost {
	t.Helper()
	var specs []inventory.SpareHostSpec
	for _, n := range names {
		specs = append(specs, inventory.SpareHostSpec{Hostname: n, Region: region, CPUCores: 64, MemoryBytes: 256 << 30, DiskBytes: 8e12, NICBps: 25e9})
	}
	inv := inventory.NewService(pool, audit.New(pool, quiet))
	out, err := inv.RegisterSpareHosts(operatorCtx(), inventory.RegisterSpareHostsInput{Pool: "spares", Hosts: specs})
	require.NoError(t, err)
	return out
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func TestScaleOutTakesPoolHostsAndRollbackReturnsThem(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	cl, _ := cluster(t, pool, 10)
	spares := addSpares(t, pool, "us-west", "spare-b1", "spare-b2", "spare-b3", "spare-b4")
	addSpares(t, pool, "eu-central", "spare-a0") // another region: never taken
	// An operator's MAINTENANCE in the pool: skipped although first by name.
	addSpares(t, pool, "us-west", "spare-a1")
	_, err := pool.Exec(ctx, `UPDATE spare_host SET state = 'MAINTENANCE' WHERE hostname = 'spare-a1'`)
	require.NoError(t, err)

	// A hostname is unique across the pool and the clusters.
	inv := inventory.NewService(pool, audit.New(pool, quiet))
	_, err = inv.RegisterSpareHosts(operatorCtx(), inventory.RegisterSpareHostsInput{Hosts: []inventory.SpareHostSpec{
		{Hostname: "bulk-0001-n0001", Region: "us-west", CPUCores: 1, MemoryBytes: 1}}})
	require.True(t, fault.Is(err, fault.Conflict), "%v", err)

	e, _ := startEngine(t, pool, fastSim(), testConfig())
	svc := newService(pool, e)
	op, err := svc.ScaleOutCluster(operatorCtx(), aquila.ScaleOutInput{ClusterID: cl, Count: 3, Reason: "peak season"})
	require.NoError(t, err)
	require.Equal(t, aquila.KindScaleOut, op.Kind)
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 18, op.TasksSucceeded) // 3 hosts × ADMIT, INSTALL, CONFIGURE, START, CHECK, ONLINE

	added := []int64{spares[0].ID, spares[1].ID, spares[2].ID}
	// The machines serve the cluster under their pool ids, with its components.
	require.Equal(t, 3, count(t, pool, `SELECT count(*) FROM host WHERE id = ANY($1) AND cluster_id = $2 AND state = 'ONLINE'
		AND held_by_operation IS NULL`, added, cl))
	require.Equal(t, 3, count(t, pool, `SELECT count(*) FROM host_component WHERE host_id = ANY($1)
		AND service = 'YARN' AND component = 'NODEMANAGER' AND version = '3.2.0' AND actual_state = 'STARTED'`, added))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM spare_host WHERE id = ANY($1)`, added))
	require.Equal(t, 3, count(t, pool, `SELECT count(*) FROM spare_host WHERE hostname IN ('spare-a0', 'spare-a1', 'spare-b4')`))

	// Rollback decommissions the added hosts back to the pool they came from.
	_, err = svc.Rollback(operatorCtx(), op.ID)
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.RolledBack)
	require.Equal(t, 3, count(t, pool, `SELECT count(*) FROM spare_host WHERE id = ANY($1) AND pool = 'spares'
		AND state = 'READY' AND last_cluster_id = $2`, added, cl))
	// The host rows stay (history), DECOMMISSIONED, without components.
	require.Equal(t, 3, count(t, pool, `SELECT count(*) FROM host WHERE id = ANY($1) AND state = 'DECOMMISSIONED'`, added))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM host_component WHERE host_id = ANY($1)`, added))

	// A second scale-out takes one of them again, by pool id: the same id.
	op2, err := svc.ScaleOutCluster(operatorCtx(), aquila.ScaleOutInput{ClusterID: cl, SpareHostIDs: []int64{spares[1].ID}})
	require.NoError(t, err)
	waitState(t, svc, op2.ID, aquila.Succeeded)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'ONLINE' AND cluster_id = $2`, spares[1].ID, cl))

	// Named pool hosts in MAINTENANCE or another region are refused, by name.
	_, err = svc.ScaleOutCluster(operatorCtx(), aquila.ScaleOutInput{ClusterID: cl, Hosts: []string{"spare-a1"}})
	require.ErrorContains(t, err, "spare-a1 is in MAINTENANCE")
	_, err = svc.ScaleOutCluster(operatorCtx(), aquila.ScaleOutInput{ClusterID: cl, Count: 5})
	require.ErrorContains(t, err, "the spare pool of region us-west has 3 ready hosts; 5 asked")
}

func TestDecommissionToPoolRetireAndMaintenanceSkipped(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	cl, hosts := cluster(t, pool, 10) // hosts[2], hosts[7] DEGRADED; hosts[3], hosts[8] MAINTENANCE
	e, _ := startEngine(t, pool, fastSim(), testConfig())
	svc := newService(pool, e)

	// To the pool, at most 10% (one host) out at a time: two batches.
	op, err := svc.DecommissionHosts(operatorCtx(), aquila.DecommissionHostsInput{ClusterID: cl, Reason: "shrink",
		DecommissionParams: aquila.DecommissionParams{HostIDs: []int64{hosts[0], hosts[1]}}, MaxOutOfServicePct: 10})
	require.NoError(t, err)
	op = waitState(t, svc, op.ID, aquila.Succeeded)
	pr, err := svc.Progress(operatorCtx(), op.ID)
	require.NoError(t, err)
	require.Len(t, pr.Stages, 6)
	require.Equal(t, "batch 1/2: drain", pr.Stages[0].Name)
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM host WHERE id = ANY($1) AND state = 'DECOMMISSIONED'`, hosts[:2]))
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM spare_host WHERE id = ANY($1) AND pool = 'default' AND region = 'us-west'
		AND last_cluster_id = $2`, hosts[:2], cl))

	// Rollback re-admits the pool hosts: back ONLINE with the cluster's components.
	_, err = svc.Rollback(operatorCtx(), op.ID)
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.RolledBack)
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM host WHERE id = ANY($1) AND state = 'ONLINE' AND cluster_id = $2`, hosts[:2], cl))
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM host_component WHERE host_id = ANY($1) AND actual_state = 'STARTED'`, hosts[:2]))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM spare_host WHERE id = ANY($1)`, hosts[:2]))

	// Retire: DECOMMISSIONED, not in the pool. The MAINTENANCE host's tasks
	// are skipped: it stays as the operator left it. The cluster is the hosts'.
	op, err = svc.DecommissionHosts(operatorCtx(), aquila.DecommissionHostsInput{
		DecommissionParams: aquila.DecommissionParams{HostIDs: []int64{hosts[2], hosts[3]}, To: aquila.ToRetire}})
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'DECOMMISSIONED'`, hosts[2]))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM spare_host WHERE id = $1`, hosts[2]))
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'MAINTENANCE'`, hosts[3]))
	require.Equal(t, 3, taskStates(t, pool, op.ID)["SKIPPED"])

	// Already decommissioned, or of another cluster: refused by name.
	_, err = svc.DecommissionHosts(operatorCtx(), aquila.DecommissionHostsInput{ClusterID: cl,
		DecommissionParams: aquila.DecommissionParams{HostIDs: []int64{hosts[2]}}})
	require.ErrorContains(t, err, "is already DECOMMISSIONED")
}

func TestDecommissionRefusesMinimumCapacityAndQuorum(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	cl, hosts := cluster(t, pool, 10) // 8 in service (ONLINE or DEGRADED), 64 cores each
	e, _ := startEngine(t, pool, fastSim(), testConfig())
	svc := newService(pool, e)
	inv := inventory.NewService(pool, audit.New(pool, quiet))

	_, err := inv.SetClusterPolicy(adminCtx(), inventory.ClusterPolicy{ClusterID: cl, MinHosts: 7, AutoscaleMode: "OFF", AutoscaleMaxHosts: 20})
	require.NoError(t, err)
	req := aquila.DecommissionHostsInput{ClusterID: cl, MaxOutOfServicePct: 50,
		DecommissionParams: aquila.DecommissionParams{HostIDs: []int64{hosts[0], hosts[1]}}}
	_, err = svc.DecommissionHosts(operatorCtx(), req)
	require.True(t, fault.Is(err, fault.Invalid), "%v", err)
	require.ErrorContains(t, err, "would leave cluster bulk-0001 with 6 hosts in service, under its minimum of 7")

	_, err = inv.SetClusterPolicy(adminCtx(), inventory.ClusterPolicy{ClusterID: cl, MinCores: 7 * 64, AutoscaleMode: "OFF", AutoscaleMaxHosts: 20})
	require.NoError(t, err)
	_, err = svc.DecommissionHosts(operatorCtx(), req)
	require.ErrorContains(t, err, "with 384 cores in service, under its minimum of 448")

	// ZOOKEEPER runs on three hosts, its quorum is three.
	_, err = pool.Exec(ctx, `INSERT INTO host_component (host_id, service, component, version)
		SELECT unnest($1::bigint[]), 'ZOOKEEPER', 'SERVER', '3.8.4'`, []int64{hosts[0], hosts[1], hosts[2]})
	require.NoError(t, err)
	_, err = inv.SetClusterPolicy(adminCtx(), inventory.ClusterPolicy{ClusterID: cl, AutoscaleMode: "OFF", AutoscaleMaxHosts: 20,
		Quorums: map[string]int32{"ZOOKEEPER": 3}})
	require.NoError(t, err)
	req.HostIDs = []int64{hosts[1]}
	_, err = svc.DecommissionHosts(operatorCtx(), req)
	require.ErrorContains(t, err, "would leave service ZOOKEEPER on cluster bulk-0001 with 2 started hosts, under its quorum of 3")
	// A host without the service is fine.
	req.HostIDs = []int64{hosts[5]}
	op, err := svc.DecommissionHosts(operatorCtx(), req)
	require.NoError(t, err)
	waitState(t, svc, op.ID, aquila.Succeeded)
}

func TestSetHostStateDecommissionedGoesThroughTheOperation(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	cl, hosts := cluster(t, pool, 5)
	e, _ := startEngine(t, pool, fastSim(), testConfig())
	svc := newService(pool, e)
	inv := inventory.NewService(pool, audit.New(pool, quiet))
	inv.SetDecommissioner(svc)

	h, err := inv.SetHostState(operatorCtx(), inventory.SetHostStateInput{HostID: hosts[0], State: "DECOMMISSIONED", Reason: "end of lease"})
	require.NoError(t, err)
	require.Equal(t, hosts[0], h.ID)
	ops, err := svc.ClusterOperations(operatorCtx(), cl, 0, 10)
	require.NoError(t, err)
	require.Len(t, ops, 1)
	require.Equal(t, aquila.KindDecommission, ops[0].Kind)
	waitState(t, svc, ops[0].ID, aquila.Succeeded)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'DECOMMISSIONED'`, hosts[0]))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM spare_host WHERE id = $1`, hosts[0]))
	// Again: nothing to do.
	_, err = inv.SetHostState(operatorCtx(), inventory.SetHostStateInput{HostID: hosts[0], State: "DECOMMISSIONED"})
	require.NoError(t, err)
}

func TestHostsNeeded(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		peak, threshold, capacity, host float64
		want                            int
	}{
		{0.70, 0.80, 1000, 10, 0},          // under the threshold
		{0.88, 0.80, 512, 64, 1},           // 512 × 0.1 / 64 = 0.8 → 1
		{1.20, 0.60, 100, 1, 100},          // double the capacity
		{0.90, 0.85, 20000 * 64, 64, 1177}, // 20,000 hosts, 5.9% more
	} {
		require.Equal(t, c.want, aquila.HostsNeeded(c.peak, c.threshold, c.capacity, c.host), "%+v", c)
	}
}

// forecastCrossing stores a CPU forecast for cluster crossing its threshold
// in six hours: current daily peak `peak`, rising slope a day.
func forecastCrossing(t *testing.T, pool *pgxpool.Pool, cluster int64, peak, slope float64) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `INSERT INTO watermark_forecast (cluster_id, dimension, method, threshold,
		days_of_history, current_peak, slope_per_day, crosses_at, computed_at)
		SELECT $1, 'CPU', 'ols', t.threshold, 28, $2, $3, now() + interval '6 hours', now()
		FROM cluster c JOIN watermark_threshold t ON t.kind = c.kind WHERE c.id = $1
		ON CONFLICT (cluster_id, dimension) DO UPDATE SET current_peak = $2, slope_per_day = $3`, cluster, peak, slope)
	require.NoError(t, err)
}

func TestAutoscaleProposesStartsAndIsAudited(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	ids := fixtureClusters(t, pool, 2, 10) // BATCH clusters, threshold 0.85; 8 hosts in service each
	propose, auto := ids[0], ids[1]
	addSpares(t, pool, "us-west", "spare-1", "spare-2", "spare-3", "spare-4", "spare-5", "spare-6")
	inv := inventory.NewService(pool, audit.New(pool, quiet))
	for id, mode := range map[int64]string{propose: "PROPOSE", auto: "AUTO"} {
		_, err := inv.SetClusterPolicy(adminCtx(), inventory.ClusterPolicy{ClusterID: id, AutoscaleMode: mode, AutoscaleMaxHosts: 3})
		require.NoError(t, err)
	}
	forecastCrossing(t, pool, propose, 0.80, 0.30) // peak at 24 h: 1.10
	forecastCrossing(t, pool, auto, 0.84, 0.06)    // peak at 24 h: 0.90

	e, _ := startEngine(t, pool, fastSim(), testConfig())
	svc := newService(pool, e)
	wm := watermark.NewService(pool, nil, quiet)
	res, err := svc.Autoscale(ctx, wm, aquila.AutoscaleConfig{}, quiet)
	require.NoError(t, err)
	require.Equal(t, aquila.AutoscaleResult{AtRisk: 2, Opened: 2, Started: 1}, res)

	list, err := svc.Proposals(operatorCtx(), aquila.ProposalFilter{ClusterID: propose, Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 1)
	p := list[0]
	require.Equal(t, aquila.ProposalOpen, p.State)
	f := p.Figures
	require.Equal(t, "CPU", f.Dimension)
	require.InDelta(t, 0.85, f.Threshold, 1e-9)
	require.InDelta(t, 1.10, f.ForecastPeak, 1e-9)
	require.Equal(t, 24.0, f.HorizonHours)
	require.Equal(t, 8, f.HostsInService)
	require.Equal(t, 512.0, f.Capacity)
	require.Equal(t, 64.0, f.HostCapacity)
	// 512 × (1.10/0.85 − 1) / 64 = 2.35 → 3 hosts; capacity 704, peak 0.80.
	require.Equal(t, 3, f.HostsNeeded)
	require.Equal(t, 3, p.Hosts)
	require.False(t, f.Capped)
	require.Equal(t, 704.0, f.CapacityAfter)
	require.InDelta(t, 0.80, f.ForecastAfter, 1e-9)
	require.Len(t, p.SuggestedHosts, 3)

	// AUTO: started at once, as the system, audited.
	auto1, err := svc.Proposals(operatorCtx(), aquila.ProposalFilter{ClusterID: auto, Limit: 10})
	require.NoError(t, err)
	require.Len(t, auto1, 1)
	require.Equal(t, aquila.ProposalAccepted, auto1[0].State)
	require.Equal(t, aquila.AutoscaleActor, *auto1[0].DecidedBy)
	require.NotNil(t, auto1[0].OperationID)
	op := waitState(t, svc, *auto1[0].OperationID, aquila.Succeeded)
	require.Equal(t, aquila.AutoscaleActor, op.RequestedBy)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM audit_log WHERE actor = $1 AND action = 'startOperation'
		AND target = $2`, aquila.AutoscaleActor, fmt.Sprintf("operation:%d", op.ID)))
	// 512 × (0.90/0.85 − 1) / 64 = 0.47 → 1 host, now serving.
	require.Equal(t, 9, count(t, pool, `SELECT count(*) FROM host WHERE cluster_id = $1 AND state IN ('ONLINE', 'DEGRADED')`, auto))

	// A second run refreshes, never duplicates; the AUTO cluster cools down.
	res, err = svc.Autoscale(ctx, wm, aquila.AutoscaleConfig{}, quiet)
	require.NoError(t, err)
	require.Equal(t, aquila.AutoscaleResult{AtRisk: 2, Refreshed: 1}, res)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM scaleout_proposal WHERE cluster_id = $1`, propose))
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM scaleout_proposal WHERE cluster_id = $1`, auto))

	// Dismiss: audited with the reason; a viewer may not.
	_, err = svc.DismissProposal(viewerCtx(), p.ID, "no")
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	d, err := svc.DismissProposal(operatorCtx(), p.ID, "budget freeze")
	require.NoError(t, err)
	require.Equal(t, aquila.ProposalDismissed, d.State)
	require.Equal(t, "budget freeze", d.DecisionReason)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM audit_log WHERE actor = 'ops' AND action = 'dismissScaleOutProposal'`))
	_, err = svc.AcceptProposal(operatorCtx(), p.ID)
	require.True(t, fault.Is(err, fault.Conflict), "%v", err)

	// Accept: a fresh proposal after the cool-down is accepted by an operator.
	_, err = pool.Exec(ctx, `UPDATE scaleout_proposal SET decided_at = now() - interval '2 days' WHERE id = $1`, p.ID)
	require.NoError(t, err)
	res, err = svc.Autoscale(ctx, wm, aquila.AutoscaleConfig{}, quiet)
	require.NoError(t, err)
	require.Equal(t, 1, res.Opened)
	list, err = svc.Proposals(operatorCtx(), aquila.ProposalFilter{ClusterID: propose, State: aquila.ProposalOpen, Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 1)
	a, err := svc.AcceptProposal(operatorCtx(), list[0].ID)
	require.NoError(t, err)
	require.Equal(t, aquila.ProposalAccepted, a.State)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM audit_log WHERE actor = 'ops' AND action = 'acceptScaleOutProposal' AND outcome = 'OK'`))
	waitState(t, svc, *a.OperationID, aquila.Succeeded)
	require.Equal(t, 11, count(t, pool, `SELECT count(*) FROM host WHERE cluster_id = $1 AND state IN ('ONLINE', 'DEGRADED')`, propose))

	// The risk gone, nothing is open any more; a new risk-free run expires nothing.
	_, err = pool.Exec(ctx, `DELETE FROM watermark_forecast`)
	require.NoError(t, err)
	res, err = svc.Autoscale(ctx, wm, aquila.AutoscaleConfig{}, quiet)
	require.NoError(t, err)
	require.Equal(t, aquila.AutoscaleResult{}, res)
}

func fixtureClusters(t *testing.T, pool *pgxpool.Pool, n, hosts int) []int64 {
	t.Helper()
	ids := fixture.Bulk(t, pool, n, hosts)
	_, err := pool.Exec(context.Background(), `UPDATE cluster SET kind = 'BATCH' WHERE id = ANY($1)`, ids)
	require.NoError(t, err)
	return ids
}

func TestOperatorMaintenanceOverridesAnOperationsHold(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	cl, _ := cluster(t, pool, 10)
	spares := addSpares(t, pool, "us-west", "spare-1", "spare-2")
	submit, err := aquila.NewEngine(pool, nil, quiet, aquila.EngineConfig{NoWork: true})
	require.NoError(t, err)
	svc := newService(pool, submit)
	op, err := svc.ScaleOutCluster(operatorCtx(), aquila.ScaleOutInput{ClusterID: cl, Count: 2})
	require.NoError(t, err)
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM host WHERE held_by_operation = $1 AND state = 'MAINTENANCE'`, op.ID))

	// Before any task ran, an operator takes one machine into their own MAINTENANCE.
	inv := inventory.NewService(pool, audit.New(pool, quiet))
	_, err = inv.SetHostState(operatorCtx(), inventory.SetHostStateInput{HostID: spares[0].ID, State: "MAINTENANCE", Reason: "bad disk"})
	require.NoError(t, err)

	startEngine(t, pool, fastSim(), testConfig())
	waitState(t, svc, op.ID, aquila.Succeeded)
	require.Equal(t, 6, taskStates(t, pool, op.ID)["SKIPPED"])
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'MAINTENANCE' AND state_reason = 'bad disk'`, spares[0].ID))
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'ONLINE'`, spares[1].ID))
}

func TestConcurrentScaleOutsTakeDistinctMachines(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ids := fixtureClusters(t, pool, 2, 10)
	addSpares(t, pool, "us-west", "spare-1", "spare-2", "spare-3", "spare-4", "spare-5", "spare-6")
	submit, err := aquila.NewEngine(pool, nil, quiet, aquila.EngineConfig{NoWork: true})
	require.NoError(t, err)
	svc := newService(pool, submit)
	errs := make(chan error, 2)
	for _, cl := range ids {
		go func() {
			_, err := svc.ScaleOutCluster(operatorCtx(), aquila.ScaleOutInput{ClusterID: cl, Count: 3})
			errs <- err
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	for _, cl := range ids {
		require.Equal(t, 3, count(t, pool, `SELECT count(*) FROM host WHERE cluster_id = $1 AND hostname LIKE 'spare-%'`, cl))
	}
	require.Zero(t, count(t, pool, `SELECT count(*) FROM spare_host`))
}
