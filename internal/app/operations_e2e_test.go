package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/sim"
)

// TestBrowserOperations drives the Aquila screens in Chromium against a demo
// server running a working operation engine (as TESLA_OPERATIONS=simulated
// does, with quicker tasks): an operator restarts a cluster from its page and
// watches the live operation page reach SUCCEEDED without a reload; a second
// run is paused, refused a conflicting restart, shown to a viewer without any
// button, on the operations list and the big screen, then resumed and
// aborted from the buttons; on the Stacks page the operator registers a
// package (a bad checksum is refused next to its field) and creates a stack
// version whose dependency graph is drawn.
func TestBrowserOperations(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ds.start(t, "127.0.0.1:0")
	ctx := cliContext(context.Background())
	startSimulatedEngine(t, ds, 150*time.Millisecond)
	operator, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoOperatorLogin, auth.Operator, "e2e", time.Hour)
	require.NoError(t, err)
	viewer, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)
	runNode(t, "e2e/operations.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+operator,
		"TESLA_VIEWER_TOKEN="+viewer, "TESLA_CLUSTER="+ds.clusters[0], "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "operation-succeeded.png", "operation-viewer.png", "stacks-graph.png")
	// Every action the buttons took is audited as the operator's.
	var audited int
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log
		WHERE action IN ('startOperation', 'pauseOperation', 'resumeOperation', 'abortOperation') AND outcome = 'OK'`).Scan(&audited))
	require.GreaterOrEqual(t, audited, 5, "two restarts, a pause, a resume and an abort")
}

// startSimulatedEngine runs the operation engine a `serve` with
// TESLA_OPERATIONS=simulated runs, on the demo server's database, with tasks
// of the given median duration and no failures, until the test ends.
func startSimulatedEngine(t *testing.T, ds *demoServerProcess, median time.Duration) {
	t.Helper()
	exec := aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: median, Seed: 1})
	eng, err := aquila.NewEngine(ds.d.Pool, exec, ds.logger, aquila.EngineConfig{ID: "e2e", FetchPollInterval: 100 * time.Millisecond})
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
