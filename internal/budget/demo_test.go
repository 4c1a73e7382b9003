package budget_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/sim"
)

// TestForecastErrorOnDemoHistory measures the forecast on the demo fleet's
// bills: the simulated fleet seeded with 90 days of history (its maximum): October and November 2026 are complete months with four weeks of history before their 15th (the demo's
// generator, a smaller fleet), billed with the default rate cards, and the
// mid-month forecasts of its complete past months checked against what
// they spent, for the platform, every BU subtree and every person. The
// numbers are in docs/cost.md ("Budgets"); run with -v to see them.
func TestForecastErrorOnDemoHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds and bills 90 days of a demo fleet")
	}
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	logger := slog.New(slog.DiscardHandler)
	_, err := sim.Seed(ctx, pool, sim.Config{Clusters: 4, Hosts: 80, People: 30, Days: 90, Step: time.Hour, Now: now}, logger)
	require.NoError(t, err)
	var first time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT min(hour) FROM job_usage_1h`).Scan(&first))
	from := first.UTC().Truncate(24 * time.Hour)
	_, err = cost.SeedRateCards(ctx, pool, time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	_, err = cost.NewBiller(pool, cost.Config{}, cost.BillingConfig{}, logger).Bill(ctx, from, now.Truncate(24*time.Hour), now.Truncate(24*time.Hour))
	require.NoError(t, err)

	r, err := budget.MeasureError(ctx, pool, now)
	require.NoError(t, err)
	t.Logf("history from %s; platform: %.2f%% over %d months; BUs: mean %.2f%% (%d BUs, %d months); people: mean %.2f%% (%d people, %d months)",
		from.Format(time.DateOnly), r.Platform, r.PlatformMonths, r.BUs, r.BUCount, r.BUMonths, r.People, r.PersonCount, r.PersonMonths)
	t.Logf("baseline (month to date stretched over the month): platform %.2f%%, BUs %.2f%%, people %.2f%%",
		r.LinearPlatform, r.LinearBUs, r.LinearPeople)
	require.Positive(t, r.PlatformMonths)
	require.Less(t, r.Platform, 25.0)
}

// The demo's budgets: three BUs and two people, one BU past its 80% threshold,
// so the portal has an alert to show from the start.
func TestSeedDemoBudgets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	logger := slog.New(slog.DiscardHandler)
	_, err := sim.Seed(ctx, pool, sim.Config{Clusters: 2, Hosts: 20, People: 8, Days: 3, Step: time.Hour, Now: now}, logger)
	require.NoError(t, err)
	from := now.AddDate(0, 0, -3).Truncate(24 * time.Hour)
	_, err = cost.SeedRateCards(ctx, pool, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	_, err = cost.NewBiller(pool, cost.Config{}, cost.BillingConfig{}, logger).Bill(ctx, from, now.Truncate(24*time.Hour).AddDate(0, 0, 1), now.Truncate(time.Hour))
	require.NoError(t, err)
	n, err := budget.SeedDemoBudgets(ctx, pool, now)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	n, err = budget.SeedDemoBudgets(ctx, pool, now)
	require.NoError(t, err)
	require.Zero(t, n, "seeded once")
	res, err := budget.NewEvaluator(pool, "USD", nil).WithClock(func() time.Time { return now }).RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, res.Budgets)
	var spend80 int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM budget_alert WHERE kind = 'SPEND' AND threshold = 80 AND bu_id IS NOT NULL`).Scan(&spend80))
	require.Equal(t, 1, spend80, "one BU is past 80%% of its budget")
}
