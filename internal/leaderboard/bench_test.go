package leaderboard_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/leaderboard"
)

// benchMonth is the benchmark's month (30 days).
var benchMonth = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// benchFleet writes a month of the fleet benchmark's size straight into the
// tables the leaderboards read, as the billing and job-analysis jobs and
// ingestion would leave them: 20 BUs, 2,000 people, 200 clusters and 100,000
// jobs each running once a day for two hours (100,000 runs a day: 3,000,000
// runs, 6,000,000 usage hours), a CPU, MEMORY and IDLE bill line per job and
// day (9,000,000 lines), a failed run in 20, and a job-analysis score per job.
// Rows are written day by day, as ingestion and billing write them, so that a
// day's rows sit together as they would in production (written job by job,
// a day's 200,000 usage hours were spread over every page of the table).
func benchFleet(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	ctx := context.Background()
	days := 30
	for _, sql := range []string{
		`INSERT INTO bu (name, code) SELECT 'BU ' || g, 'BU' || g FROM generate_series(1, 20) g`,
		`INSERT INTO person (login, name, bu_id) SELECT 'p' || g, 'P ' || g, (SELECT min(id) FROM bu) + g % 20 FROM generate_series(1, 2000) g`,
		`INSERT INTO cluster (name, region, kind, owner_bu_id)
			SELECT 'c' || g, 'r', (ARRAY['BATCH', 'STREAMING', 'ONLINE'])[1 + g % 3], (SELECT min(id) FROM bu) + g % 20 FROM generate_series(1, 200) g`,
		`INSERT INTO job (namespace, name, owner_id, cluster_id)
			SELECT 'bench', 'j' || g, (SELECT min(id) FROM person) + g % 2000, (SELECT min(id) FROM cluster) + g % 200
			FROM generate_series(1, 100000) g`,
		fmt.Sprintf(`INSERT INTO job_usage_1h (job_id, hour, runs, requested_core_seconds, used_core_seconds, requested_memory_byte_seconds, used_memory_byte_seconds)
			SELECT j.id, $1::timestamptz + make_interval(days => d, hours => (j.id %% 22)::int + k), 1,
			       3600 * (1 + j.id %% 8), 3600 * (j.id %% 7) + 17.5, 3600 * 4 * 1073741824.0, 3600 * (j.id %% 5) * 1073741824.0
			FROM job j, generate_series(0, %d) d, generate_series(0, 1) k
			ORDER BY d, k, j.id`, days-1),
		fmt.Sprintf(`INSERT INTO job_run (job_id, run_uuid, state, started_at, ended_at, updated_at)
			SELECT j.id, gen_random_uuid(), CASE WHEN (j.id + d) %% 20 = 0 THEN 'FAILED' ELSE 'COMPLETED' END, t, t + interval '2 hours', t + interval '2 hours'
			FROM job j, generate_series(0, %d) d, LATERAL (SELECT $1::timestamptz + make_interval(days => d, hours => (j.id %% 22)::int) AS t) s
			ORDER BY d, j.id`, days-1),
		fmt.Sprintf(`INSERT INTO bill_line (day, cluster_id, resource, job_id, person_id, bu_id, quantity, unit, unit_price, amount)
			SELECT ($1::date + d), j.cluster_id, r.resource, j.id, j.owner_id, p.bu_id, r.qty, r.unit, r.price, round(r.qty * r.price, 2)
			FROM job j JOIN person p ON p.id = j.owner_id, generate_series(0, %d) d,
			     LATERAL (VALUES ('CPU', 2.0 * (1 + j.id %% 8), 'core-hour', 0.04),
			                     ('MEMORY', 8.0, 'GB-hour', 0.005),
			                     ('IDLE', 0.01 * (1 + j.id %% 13), 'USD', 1)) r(resource, qty, unit, price)
			ORDER BY d, j.id`, days-1),
		`INSERT INTO job_score (job_id, score, wasted_core_hours_per_day, wasted_gb_hours_per_day, waste, worst_severity, runs_analyzed, hours_analyzed, analyzed_at)
			SELECT id, (id % 17) * 3, 0, 0, 0, least(4, id % 5), 10, 0, now() FROM job`,
		`INSERT INTO job_finding (job_id, heuristic, severity, advice, analyzed_at)
			SELECT id, 'cpu requests', least(4, id % 5), 'request ' || (id % 7) || ' cores instead of ' || (1 + id % 8), now() FROM job`,
		`ANALYZE`,
	} {
		var args []any
		if slices.Contains([]byte(sql), '$') {
			args = []any{benchMonth}
		}
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(b, err)
	}
}

// BenchmarkLeaderboards runs on one month of the fleet benchmark's size
// (benchFleet, written once):
//   - month-full: Compute of the month, every day rolled up again from usage,
//     bills and runs, then every level and metric ranked (an operator's
//     recomputation);
//   - hourly-pass: the job's pass on the month's last day (target < 10 s),
//     an hour after the day's first pass (reported as first-pass-s), once a
//     new hour of usage came in for every job: the two days not yet final
//     rolled up again (today's rows all change, yesterday's not), the periods
//     holding today ranked again from the rollup (today's day, its week, the
//     month), yesterday's left as they were;
//   - read/…: lists of the computed month (first 10 and 100 of either end)
//     and a person's standing, through the service.
func BenchmarkLeaderboards(b *testing.B) {
	pool := dbtest.New(b)
	benchFleet(b, pool)
	ctx := context.Background()
	b.Run("month-full", func(b *testing.B) {
		comp := leaderboard.NewComputer(pool, leaderboard.Config{}, nil, nil)
		var entries int64
		for b.Loop() {
			n, err := comp.Compute(ctx, leaderboard.Month, benchMonth)
			require.NoError(b, err)
			entries = n
		}
		b.ReportMetric(float64(entries), "entries")
	})
	b.Run("hourly-pass", func(b *testing.B) {
		// Every day of the month was rolled up by month-full, today's after
		// its end: roll the last two up as their first, same-day pass did.
		_, err := pool.Exec(ctx, `UPDATE leaderboard_day SET rolled_at = day + interval '12 hours' WHERE day >= $1::date`, benchMonth.AddDate(0, 0, 28))
		require.NoError(b, err)
		now := benchMonth.AddDate(0, 0, 29).Add(12 * time.Hour)
		comp := leaderboard.NewComputer(pool, leaderboard.Config{Now: func() time.Time { return now }}, nil, nil)
		// The hour before: the first pass of the day computes every period
		// (yesterday's day and week were never computed here).
		t0 := time.Now()
		first, err := comp.RunOnce(ctx)
		require.NoError(b, err)
		firstPass := time.Since(t0)
		// An hour of usage has come in since: every job's today changes
		// (hour 23 is free in benchFleet's schedule), yesterday is as it was.
		_, err = pool.Exec(ctx, `INSERT INTO job_usage_1h (job_id, hour, runs, requested_core_seconds, used_core_seconds, requested_memory_byte_seconds, used_memory_byte_seconds)
			SELECT id, $1::timestamptz, 1, 3600 * (1 + id % 8), 3600 * (id % 7) + 17.5, 3600 * 4 * 1073741824.0, 3600 * (id % 5) * 1073741824.0 FROM job`,
			benchMonth.AddDate(0, 0, 29).Add(23*time.Hour))
		require.NoError(b, err)
		var res leaderboard.Result
		for b.Loop() {
			res, err = comp.RunOnce(ctx)
			require.NoError(b, err)
		}
		b.ReportMetric(firstPass.Seconds(), "first-pass-s")
		b.ReportMetric(float64(first.Periods), "first-periods")
		b.ReportMetric(float64(res.Periods), "periods")
		b.ReportMetric(float64(res.Skipped), "skipped")
		b.ReportMetric(float64(res.Entries), "entries")
	})
	_, err := leaderboard.NewComputer(pool, leaderboard.Config{}, nil, nil).Compute(ctx, leaderboard.Month, benchMonth)
	require.NoError(b, err)
	_, err = pool.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
	svc := leaderboard.NewService(pool, leaderboard.Config{})
	var person int64
	require.NoError(b, pool.QueryRow(ctx, `SELECT min(id) FROM person`).Scan(&person))
	reader := auth.WithPrincipal(ctx, &auth.Principal{PersonID: person, Role: auth.Viewer})
	for _, c := range []struct {
		name  string
		list  leaderboard.List
		first int
	}{{"read/red-10", leaderboard.Red, 10}, {"read/black-10", leaderboard.Black, 10}, {"read/black-100", leaderboard.Black, 100}} {
		b.Run(c.name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				t0 := time.Now()
				bd, err := svc.Leaderboard(reader, leaderboard.Query{Level: leaderboard.Job, List: c.list, Metric: leaderboard.Efficiency, Unit: leaderboard.Month, First: c.first})
				times = append(times, time.Since(t0))
				require.NoError(b, err)
				require.Len(b, bd.Entries, c.first)
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-median")
		})
	}
	b.Run("read/standing", func(b *testing.B) {
		for b.Loop() {
			st, err := svc.Standing(reader, leaderboard.Person, person, leaderboard.Month)
			require.NoError(b, err)
			require.NotNil(b, st[0].Rank)
		}
	})
}
