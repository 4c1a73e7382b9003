package budget_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// BenchmarkEvaluateAlerts evaluates every budget's alerts at fleet scale:
// 200 BUs (20 under the root's 10 top BUs, two levels), 10,000 people, and
// 5,000 budgets (200 BUs, 4,800 people; one in ten with a webhook), with 59
// days of bills (the month to date and four weeks before it: 1.8 million
// bill_person_day rows, 59,000 bill_bu_day rows). "steady" is the usual run,
// every crossed threshold already raised; "raising" raises them all (the
// alerts are deleted, untimed, before each run). Numbers in
// docs/benchmarks.md.
func BenchmarkEvaluateAlerts(b *testing.B) {
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
		if containsArg(sql) {
			_, err = pool.Exec(ctx, sql, month.AddDate(0, 0, -28))
		} else {
			_, err = pool.Exec(ctx, sql)
		}
		require.NoError(b, err)
	}
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

func containsArg(sql string) bool {
	for i := 0; i+1 < len(sql); i++ {
		if sql[i] == '$' && sql[i+1] == '1' {
			return true
		}
	}
	return false
}
