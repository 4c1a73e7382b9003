package app

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/sim"
	"github.com/teslaops/tesla/internal/workload"
	"github.com/teslaops/tesla/jobs"
)

// afterBilling are the jobs whose figures come from the bills, the findings or
// each other, in the order they build on each other: scores first, then the
// rankings (one of which is by health), then the budget alerts.
var afterBilling = []string{jobs.NameHealth, jobs.NameLeaderboards, jobs.NameBudgetAlerts}

// moneyServer is a demo server whose seeded history is analysed and billed,
// and then scored, ranked and checked against budgets as the scheduled jobs
// would once a day's bills exist (newDemoServer runs every job once before the
// bills exist).
func moneyServer(t *testing.T) *demoServerProcess {
	t.Helper()
	ds := newDemoServer(t)
	ctx := cliContext(context.Background())
	// The findings behind the improvement advice: with a clock two minutes
	// ahead so runs the seed wrote in its last minute are analysed too.
	_, err := workload.RunAnalysis(ctx, ds.d.Pool, workload.AnalysisConfig{Now: func() time.Time { return time.Now().Add(2 * time.Minute) }})
	require.NoError(t, err)
	require.NoError(t, billHistory(ctx, ds.d.Pool, ds.cfg, io.Discard))
	byName := map[string]jobs.Job{}
	for _, j := range ds.jobs(ds.cfg.Jobs) {
		byName[j.Name()] = j
	}
	for _, name := range afterBilling {
		j, ok := byName[name]
		require.True(t, ok, "the default job set has %s", name)
		_, err := jobs.Run(ctx, ds.d.Pool, ds.logger, "e2e", j)
		require.NoError(t, err, name)
	}
	ds.start(t, "127.0.0.1:0")
	return ds
}

// TestBrowserBudgets drives budgets, bills, health and standing in the business
// centres in Chromium against a billed, scored and ranked demo fleet: the BU
// lead (BU_ADMIN) sets their BU's budget, which persists across a reload and in
// the API, and is refused a bad amount and a budget for a person outside the BU
// (forced into the form) with the server's message; a viewer sees
// no edit button on the BU centre, the same change forced through /query is
// refused by the server, and their Personal centre shows their bill by job,
// health score with components and standing, and lets them set their own
// budget.
func TestBrowserBudgets(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := moneyServer(t)
	ctx := cliContext(context.Background())
	viewer, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)
	buLead, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoBULeadLogin, auth.BUAdmin, "e2e", time.Hour)
	require.NoError(t, err)
	runNode(t, "e2e/budget.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token,
		"TESLA_BU_TOKEN="+buLead, "TESLA_VIEWER_TOKEN="+viewer, "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "budget-bu.png", "budget-refused.png", "budget-personal.png")
	// The change is the BU lead's, in the audit log.
	var audited int
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'upsertBudget' AND outcome = 'OK'`).Scan(&audited))
	require.GreaterOrEqual(t, audited, 2, "the BU's and the viewer's budgets are audited")
}

// TestBrowserLeaderboards drives the Leaderboards page (the selectors change
// the red and black lists and stay in the URL), the health rankings, a
// cluster's health and the big screen's cost and leaderboard panels in
// Chromium against a billed, scored and ranked demo fleet.
func TestBrowserLeaderboards(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := moneyServer(t)
	runNode(t, "e2e/leaderboards.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token,
		"TESLA_CLUSTER="+ds.clusters[0], "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "leaderboards.png", "cluster-health.png", "screen-money.png")
}
