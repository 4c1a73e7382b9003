package budget_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/page"
)

// benchBudgets writes the budget benchmarks' fleet: 200 BUs (the root, 10
// top BUs, 189 under them), 10,000 people, and 5,000 budgets (200 BUs, 4,800
// people; one in ten with a webhook), with 59 days of bills (the month to
// date and four weeks before it: 1.8 million bill_person_day rows, 59,000
// bill_bu_day rows).
func benchBudgets(b *testing.B) *pgxpool.Pool {
	ctx := context.Background()
	pool := dbtest.New(b)
	for _, sql := range []string{
		`INSERT INTO bu (name, code) VALUES ('Root', 'ROOT')`,
		`INSERT INTO bu (parent_id, name, code) SELECT (SELECT id FROM bu WHERE code = 'ROOT'), 'Top ' || g, 'T' || g FROM generate_series(1, 10) g`,
		`INSERT INTO bu (parent_id, name, code) SELECT (SELECT id FROM bu WHERE code = 'T' || (1 + g % 10)), 'BU ' || g, 'B' || g FROM generate_series(1, 189) g`,
		`INSERT INTO person (login, name, bu_id) SELECT 'p' || g, 'P ' || g, (SELECT min(id) FROM bu) + g % 200 FROM generate_series(1, 10000) g`,
		`INSERT INTO bill_person_day (day, person_id, bu_id, resource, quantity, amount)
			SELECT $1::date + d, p.id, p.bu_id, r, 1, round((1 + (p.id % 50) + d % 7)::numeric * 1.37, 2)
			FROM person p, generate_series(0, 58) d, unnest(ARRAY['CPU', 'MEMORY', 'IDLE']) r`,
		`INSERT INTO bill_bu_day (day, bu_id, resource, quantity, amount)
			SELECT $1::date + d, b.id, r, 1, round((100 + b.id % 40 * 10 + d % 7 * 5)::numeric * 1.37, 2)
			FROM bu b, generate_series(0, 58) d, unnest(ARRAY['CPU', 'MEMORY', 'IDLE', 'OVERHEAD', 'ROUNDING']) r`,
		`INSERT INTO budget (bu_id, valid_from, amount, thresholds, webhook_url)
			SELECT id, '2026-11-01', 5000 + id % 7 * 20000, '{50,80,100}', CASE WHEN id % 10 = 0 THEN 'https://hooks.example.com/b' END FROM bu`,
		`INSERT INTO budget (person_id, valid_from, amount, thresholds, webhook_url)
			SELECT id, '2026-11-01', 300 + id % 9 * 200, '{50,80,100}', CASE WHEN id % 10 = 0 THEN 'https://hooks.example.com/p' END
			FROM person ORDER BY id LIMIT 4800`,
		`ANALYZE`,
	} {
		var err error
		if strings.Contains(sql, "$1") {
			_, err = pool.Exec(ctx, sql, month.AddDate(0, 0, -28))
		} else {
			_, err = pool.Exec(ctx, sql)
		}
		require.NoError(b, err)
	}
	return pool
}

// BenchmarkEvaluateAlerts evaluates every budget's alerts at fleet scale
// (benchBudgets). "steady" is the usual run, every crossed threshold
// already raised; "raising" raises them all (the alerts are deleted,
// untimed, before each run). Numbers in docs/benchmarks.md.
func BenchmarkEvaluateAlerts(b *testing.B) {
	ctx := context.Background()
	pool := benchBudgets(b)
	e := budget.NewEvaluator(pool, "USD", nil).WithClock(clock)
	first, err := e.RunOnce(ctx)
	require.NoError(b, err)
	require.Equal(b, 5000, first.Budgets)
	b.Logf("a first run raised %d alerts and queued %d webhooks", first.Raised, first.Webhooks)
	b.Run("steady", func(b *testing.B) {
		for b.Loop() {
			r, err := e.RunOnce(ctx)
			require.NoError(b, err)
			require.Zero(b, r.Raised)
		}
		b.ReportMetric(5000, "budgets/op")
	})
	b.Run("raising", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			_, err := pool.Exec(ctx, `DELETE FROM budget_alert`)
			require.NoError(b, err)
			b.StartTimer()
			r, err := e.RunOnce(ctx)
			require.NoError(b, err)
			require.Equal(b, first.Raised, r.Raised)
		}
		b.ReportMetric(float64(first.Raised), "alerts/op")
	})
}

// BenchmarkBudgetsPage reads the first page of budgets as an ADMIN over the
// same 5,000 budgets (the budgets query's path: every budget in force, its
// month's spend, sorted by the share spent) before and after an evaluation
// stored the owners' spend, and one budget's forecast with its measured
// error (Budget.forecast).
func BenchmarkBudgetsPage(b *testing.B) {
	pool := benchBudgets(b)
	svc := budget.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)), "USD").WithClock(clock)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "admin", Role: auth.Admin})
	first := 20
	read := func(b *testing.B) {
		for b.Loop() {
			p, err := svc.Budgets(ctx, budget.Query{Page: page.Args{First: &first}})
			require.NoError(b, err)
			require.Equal(b, 5000, p.Info.Total)
		}
	}
	// Before any evaluation every owner's spend is summed from the bills.
	b.Run("page-unevaluated", read)
	_, err := budget.NewEvaluator(pool, "USD", nil).WithClock(clock).RunOnce(context.Background())
	require.NoError(b, err)
	b.Run("page", read)
	p, err := svc.Budgets(ctx, budget.Query{Page: page.Args{First: &first}})
	require.NoError(b, err)
	b.Run("forecast", func(b *testing.B) {
		for b.Loop() {
			_, err := svc.Forecast(ctx, p.Items[0])
			require.NoError(b, err)
		}
	})
}
