package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/sim"
)

// TestBrowserAquilaUpgrade drives the upgrade wizard, the scale-out dialog, a
// refused decommission and their viewer view in Chromium against a demo server running a working
// operation engine with quick tasks. The script registers what an upgrade
// needs through the GraphQL API (new package versions of the cluster's
// services, two stack versions of its stack), so it does not depend on what
// the demo seed installs.
func TestBrowserAquilaUpgrade(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ds.start(t, "127.0.0.1:0")
	ctx := cliContext(context.Background())
	startSimulatedEngine(t, ds, 50*time.Millisecond)
	operator, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoOperatorLogin, auth.Operator, "e2e", time.Hour)
	require.NoError(t, err)
	admin, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoAdminLogin, auth.Admin, "e2e", time.Hour)
	require.NoError(t, err)
	viewer, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)
	// The cluster with the fewest hosts, all ONLINE, keeps the run short and its
	// host-health pre-check a PASS.
	var cluster string
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT c.name FROM cluster c JOIN host h ON h.cluster_id = c.id
		GROUP BY c.id, c.name HAVING bool_and(h.state = 'ONLINE') ORDER BY count(*), c.name LIMIT 1`).Scan(&cluster))
	// Two open scale-out proposals on two other clusters, as the auto scale-out
	// job writes them (the demo's forecasts need not cross a threshold): the
	// operator dismisses one from its banner, the viewer sees the other listed.
	var others []string
	for _, n := range ds.clusters {
		if n != cluster && len(others) < 2 {
			others = append(others, n)
		}
	}
	require.Len(t, others, 2)
	crosses := time.Now().Add(20 * time.Hour)
	figures, err := json.Marshal(aquila.ProposalFigures{Dimension: "CPU", Threshold: 0.8, Utilization: 0.7, ForecastPeak: 0.92,
		CrossesAt: &crosses, HorizonHours: 48, HostsInService: 20, Capacity: 640, HostCapacity: 32, CapacityUnit: "cores",
		HostsNeeded: 3, Hosts: 3, CapacityAfter: 736, ForecastAfter: 0.8})
	require.NoError(t, err)
	_, err = ds.d.Pool.Exec(ctx, `INSERT INTO scaleout_proposal (cluster_id, hosts, figures, reason)
		SELECT id, 3, $2, 'e2e' FROM cluster WHERE name = ANY($1)`, others, figures)
	require.NoError(t, err)
	runNode(t, "e2e/aquila-upgrade.e2e.mjs", "TESLA_PROPOSAL_CLUSTERS="+strings.Join(others, ","), "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+operator,
		"TESLA_VIEWER_TOKEN="+viewer, "TESLA_ADMIN_TOKEN="+admin, "TESLA_CLUSTER="+cluster, "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "upgrade-wizard.png", "upgrade-rolled-back.png")
	var audited int
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log
		WHERE action IN ('startOperation', 'rollbackOperation') AND outcome = 'OK'`).Scan(&audited))
	require.GreaterOrEqual(t, audited, 3, "an upgrade, its rollback and a scale-out")
}
