package cost_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// benchFleet writes the billing benchmark's day: 200 clusters with a level
// every hour, 20 BUs, 2,000 people, and 100,000 job runs of two hours each
// spread over jobs jobs (100,000: every run its own job, the most lines; fewer:
// scheduled jobs running several times a day), a card per kind, and 100,000
// datasets with sizes (lineage outputStatistics): each written the day before
// and again during the day by two jobs, a tenth of them once more the day
// after (so their size as of the day is read from the history), spread over
// the jobs (a job writes 1 to 4 datasets).
func benchFleet(b *testing.B, pool *pgxpool.Pool, day time.Time, jobs int) {
	b.Helper()
	ctx := context.Background()
	runs := 100_000 / jobs
	for _, sql := range []string{
		`INSERT INTO bu (name, code) SELECT 'BU ' || g, 'BU' || g FROM generate_series(1, 20) g`,
		`INSERT INTO person (login, name, bu_id) SELECT 'p' || g, 'P ' || g, (SELECT min(id) FROM bu) + g % 20 FROM generate_series(1, 2000) g`,
		`INSERT INTO cluster (name, region, kind, owner_bu_id)
			SELECT 'c' || g, 'r', (ARRAY['BATCH', 'STREAMING', 'ONLINE'])[1 + g % 3], (SELECT min(id) FROM bu) + g % 20 FROM generate_series(1, 200) g`,
		`INSERT INTO watermark_1h (cluster_id, ts, used, capacity, utilization, peak, hosts, minutes, dimension)
			SELECT c.id, $1::timestamptz + make_interval(hours => h), 0, cap, 0, 0, 50, 60, d
			FROM cluster c, generate_series(0, 23) h,
			     LATERAL (VALUES ('CPU', 4000.0), ('MEMORY', 4000.0 * 8 * 1073741824)) v(d, cap)`,
		fmt.Sprintf(`INSERT INTO job (namespace, name, owner_id, cluster_id)
			SELECT 'bench', 'j' || g, (SELECT min(id) FROM person) + g %% 2000, (SELECT min(id) FROM cluster) + g %% 200
			FROM generate_series(1, %d) g`, jobs),
		// Run r of a job starts at hour (id + r * 24/runs) mod 22 and lasts two
		// hours; runs of one job never share an hour.
		fmt.Sprintf(`INSERT INTO job_usage_1h (job_id, hour, runs, requested_core_seconds, used_core_seconds, requested_memory_byte_seconds, used_memory_byte_seconds)
			SELECT j.id, $1::timestamptz + make_interval(hours => ((j.id + r * (24 / %[1]d)) %% 22)::int + k), 1,
			       3600 * (1 + j.id %% 8), 3600 * (j.id %% 7) + 17.5, 3600 * 4 * 1073741824.0, 3600 * (j.id %% 5) * 1073741824.0
			FROM job j, generate_series(0, %[1]d - 1) r, generate_series(0, 1) k
			ON CONFLICT (job_id, hour) DO UPDATE SET runs = job_usage_1h.runs + 1`, runs),
		`INSERT INTO job_run (job_id, run_uuid, state, state_at) SELECT id, gen_random_uuid(), 'COMPLETED', $1 FROM job`,
		`INSERT INTO dataset (namespace, name) SELECT 'bench', 'd' || g FROM generate_series(1, 100000) g`,
		`WITH r AS (SELECT job_id, id, row_number() OVER (ORDER BY job_id) - 1 AS k FROM job_run),
		      n AS (SELECT count(*) AS n FROM job_run),
		      d AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM dataset)
		INSERT INTO run_io (job_id, run_id, dataset_id, direction, at, size_bytes, row_count)
		SELECT r.job_id, r.id, d.id, 'WRITE', $1::timestamptz + w.off + make_interval(hours => (d.k % 20)::int),
		       (1 + d.k % 1000) * 1000000000::bigint * w.mult, (1 + d.k % 1000) * 1000000
		FROM d CROSS JOIN n
		CROSS JOIN (VALUES (interval '-1 day', 1, 1), (interval '0', 2, 0), (interval '1 day', 3, 2)) w(off, mult, shift)
		JOIN r ON r.k = (d.k + w.shift) % n.n
		WHERE w.shift <> 2 OR d.k % 10 = 0`,
		`INSERT INTO dataset_size (dataset_id, job_id, run_id, size_bytes, row_count, at)
		SELECT DISTINCT ON (dataset_id) dataset_id, job_id, run_id, size_bytes, row_count, at FROM run_io
		WHERE direction = 'WRITE' AND size_bytes IS NOT NULL ORDER BY dataset_id, at DESC, run_id DESC`,
	} {
		_, err := pool.Exec(ctx, sql, argsFor(sql, day)...)
		require.NoError(b, err)
	}
	_, err := cost.SeedRateCards(ctx, pool, day.AddDate(0, -1, 0))
	require.NoError(b, err)
	_, err = pool.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
}

// argsFor passes the day to the statements that take it.
func argsFor(sql string, day time.Time) []any {
	if strings.Contains(sql, "$1") {
		return []any{day}
	}
	return nil
}

// BenchmarkBillDay bills one day of 100,000 job runs over 200 clusters and
// 100,000 sized datasets (target < 10 s): ownership recorded, usage,
// capacity and stored bytes read, lines priced and written with the daily
// sums, in one transaction, replacing the day. Two shapes: every run its own
// job (the most lines, ~300,000 plus ~100,000 STORAGE), and 25,000 jobs
// running four times a day.
func BenchmarkBillDay(b *testing.B) {
	for _, jobs := range []int{100_000, 25_000} {
		b.Run(fmt.Sprintf("jobs=%d", jobs), func(b *testing.B) {
			pool := dbtest.New(b)
			day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
			benchFleet(b, pool, day, jobs)
			logger := slog.New(slog.DiscardHandler)
			if testing.Verbose() {
				logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
			}
			biller := cost.NewBiller(pool, cost.Config{}, cost.BillingConfig{}, logger)
			ctx := context.Background()
			var lines int
			for b.Loop() {
				res, err := biller.Bill(ctx, day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 1))
				require.NoError(b, err)
				lines = res.Lines
			}
			b.ReportMetric(float64(lines), "lines")
		})
	}
}

// BenchmarkBillsByBUMonth reads bills(groupBy: BU, period: month) (target
// < 20 ms median) over a month of the benchmark's daily sums: one day billed,
// its sums copied to the month's other 29 days, as thirty billing runs would
// leave them.
func BenchmarkBillsByBUMonth(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	benchFleet(b, pool, day, 100_000)
	_, err := cost.NewBiller(pool, cost.Config{}, cost.BillingConfig{}, slog.New(slog.DiscardHandler)).Bill(ctx, day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 1))
	require.NoError(b, err)
	for _, table := range []string{"bill_bu_day", "bill_cluster_day", "bill_person_day"} {
		_, err := pool.Exec(ctx, `INSERT INTO `+table+` SELECT (day + g)::date, `+map[string]string{
			"bill_bu_day": "bu_id, resource, quantity, amount", "bill_cluster_day": "cluster_id, bu_id, resource, quantity, amount",
			"bill_person_day": "person_id, bu_id, resource, quantity, amount"}[table]+` FROM `+table+`, generate_series(1, 29) g`)
		require.NoError(b, err)
	}
	_, err = pool.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
	svc := cost.NewService(pool, auditLog(pool), cost.Config{})
	admin := auth.WithPrincipal(ctx, &auth.Principal{PersonID: 1, Role: auth.Admin})
	q := cost.BillQuery{GroupBy: cost.ByBU, Period: cost.Period{Unit: cost.Month, Start: day}}
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		v, err := svc.Bills(admin, q)
		times = append(times, time.Since(t0))
		require.NoError(b, err)
		require.Len(b, v.Groups, 20)
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "ms-p95")
}

// BenchmarkBillDayRewriteOnly is BenchmarkBillDay's floor in the same run:
// replacing the day's ~300,000 bill lines, already priced, in one
// transaction (delete, then INSERT … SELECT from a copy), with no reading
// of usage, no pricing and no sums.
func BenchmarkBillDayRewriteOnly(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	benchFleet(b, pool, day, 100_000)
	_, err := cost.NewBiller(pool, cost.Config{}, cost.BillingConfig{}, nil).Bill(ctx, day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 1))
	require.NoError(b, err)
	_, err = pool.Exec(ctx, `CREATE TABLE bill_line_copy AS SELECT * FROM bill_line`)
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		tx, err := pool.Begin(ctx)
		require.NoError(b, err)
		_, err = tx.Exec(ctx, `DELETE FROM bill_line WHERE day = $1`, day)
		require.NoError(b, err)
		_, err = tx.Exec(ctx, `INSERT INTO bill_line SELECT * FROM bill_line_copy`)
		require.NoError(b, err)
		require.NoError(b, tx.Commit(ctx))
	}
}
