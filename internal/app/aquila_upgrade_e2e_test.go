package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
	runNode(t, "e2e/aquila-upgrade.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+operator,
		"TESLA_VIEWER_TOKEN="+viewer, "TESLA_ADMIN_TOKEN="+admin, "TESLA_CLUSTER="+cluster, "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "upgrade-wizard.png", "upgrade-rolled-back.png")
	var audited int
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log
		WHERE action IN ('startOperation', 'rollbackOperation') AND outcome = 'OK'`).Scan(&audited))
	require.GreaterOrEqual(t, audited, 3, "an upgrade, its rollback and a scale-out")
}
