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
// cards: the lines add up to the clusters' totals (storage included) to the
// cent, every job-day is charged its hours' max(requested, used) and the
// TB-days of the datasets it wrote last, and the daily sums agree.
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
	// The demo's runs report their outputs' sizes: STORAGE lines appear,
	// and each is the TB-days of the datasets whose latest sized write by
	// the end of the billed hours was the job's, read here straight from
	// run_io.
	var storageLines int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM bill_line WHERE resource = 'STORAGE'`).Scan(&storageLines))
	require.Positive(t, storageLines)
	require.NoError(t, pool.QueryRow(ctx, `WITH days AS (SELECT DISTINCT day FROM cost_cluster_day),
		latest AS (
			SELECT DISTINCT ON (d.day, r.dataset_id) d.day, r.job_id, r.size_bytes
			FROM days d JOIN run_io r ON r.direction = 'WRITE' AND r.size_bytes IS NOT NULL
			  AND r.at < least(d.day + interval '1 day', $1::timestamptz)
			ORDER BY d.day, r.dataset_id, r.at DESC, r.run_id DESC),
		want AS (SELECT l.day, l.job_id, sum(l.size_bytes) / 1e12 AS tb FROM latest l JOIN job j ON j.id = l.job_id
			WHERE j.cluster_id IS NOT NULL GROUP BY 1, 2)
		SELECT count(*) FROM want w FULL JOIN (SELECT * FROM bill_line WHERE resource = 'STORAGE') b ON b.day = w.day AND b.job_id = w.job_id
		WHERE b.quantity IS DISTINCT FROM w.tb`, now).Scan(&off))
	require.Zero(t, off, "job-days whose STORAGE line is not the TB-days they wrote last")
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM cost_cluster_day c WHERE storage_amount <>
		(SELECT coalesce(sum(amount), 0) FROM bill_line l WHERE l.day = c.day AND l.cluster_id = c.cluster_id AND l.resource = 'STORAGE')
		OR total <> usage_amount + storage_amount + idle_amount + overhead_amount + rounding_amount`).Scan(&off))
	require.Zero(t, off, "cluster-days whose storage or total is not their lines'")
	for _, table := range []string{"bill_bu_day", "bill_cluster_day"} {
		var a decimal.Decimal
		require.NoError(t, pool.QueryRow(ctx, `SELECT sum(amount) FROM `+table).Scan(&a))
		require.True(t, a.Equal(lines), "%s sums to %s, lines to %s", table, a, lines)
	}
}
