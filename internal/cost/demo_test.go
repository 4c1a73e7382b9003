package cost_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/sim"
	"github.com/teslaops/tesla/internal/watermark"
)

// On the demo fleet (as `make run` seeds it, smaller), with the default rate
// cards: the lines add up to the clusters' totals to the cent, every job-day
// is charged its hours' max(requested, used), and the daily sums agree.
func TestDemoFleetBillsAddUp(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	now := time.Now().UTC().Truncate(time.Hour)
	_, err := sim.Seed(ctx, pool, sim.Config{Clusters: 4, Hosts: 60, People: 10, Days: 2, Step: 10 * time.Minute, Now: now}, logger)
	require.NoError(t, err)
	rollup := watermark.NewRollup(pool, watermark.RollupConfig{})
	for {
		r, err := rollup.RunOnce(ctx)
		require.NoError(t, err)
		if r.Minutes == 0 {
			break
		}
	}
	from := now.Truncate(24*time.Hour).AddDate(0, 0, -2)
	_, err = cost.SeedRateCards(ctx, pool, from.AddDate(0, -1, 0))
	require.NoError(t, err)
	res, err := cost.NewBiller(pool, cost.Config{}, cost.BillingConfig{}, logger).Bill(ctx, from, now.AddDate(0, 0, 1), now)
	require.NoError(t, err)
	require.Positive(t, res.Lines)
	require.Zero(t, res.Unpriced)

	var totals, lines decimal.Decimal
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT sum(total) FROM cost_cluster_day), (SELECT sum(amount) FROM bill_line)`).Scan(&totals, &lines))
	require.True(t, totals.Equal(lines) && totals.Equal(res.Total), "clusters %s, lines %s, billed %s", totals, lines, res.Total)

	// Each job's CPU line is its hours' max(requested, used) core-hours, read
	// here straight from job_usage_1h.
	var off int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM (
		SELECT u.job_id, date_trunc('day', u.hour) AS day, sum(greatest(u.requested_core_seconds, u.used_core_seconds)) / 3600 AS q
		FROM job_usage_1h u JOIN job j ON j.id = u.job_id WHERE j.cluster_id IS NOT NULL AND u.hour < $1
		GROUP BY 1, 2) w
		LEFT JOIN bill_line l ON l.job_id = w.job_id AND l.day = w.day::date AND l.resource = 'CPU'
		WHERE abs(coalesce(l.quantity, 0) - w.q::numeric) > 0.000001 * greatest(w.q, 1)`, now).Scan(&off))
	require.Zero(t, off, "job-days whose CPU line is not their usage")
	var overCharged int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM cost_cluster_day
		WHERE capacity_core_hours < charged_core_hours OR capacity_gb_hours < charged_gb_hours OR idle_amount < 0`).Scan(&overCharged))
	require.Zero(t, overCharged)
	for _, table := range []string{"bill_bu_day", "bill_cluster_day"} {
		var a decimal.Decimal
		require.NoError(t, pool.QueryRow(ctx, `SELECT sum(amount) FROM `+table).Scan(&a))
		require.True(t, a.Equal(lines), "%s sums to %s, lines to %s", table, a, lines)
	}
}
