package budget

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db"
)

// demoShares are the demo budgets' amounts as multiples of what the owner
// spent in the month so far: the first BU has spent about 87% of its budget
// (past the 80% threshold), the others less.
var demoShares = []struct {
	kind  OwnerKind
	share string
}{
	{BU, "1.15"}, {BU, "2.5"}, {BU, "4"}, {Person, "1.6"}, {Person, "3"},
}

// SeedDemoBudgets gives the demo fleet a few budgets for the month of now,
// sized from what was billed so far: three BUs with the largest subtree
// spend and two people; it writes nothing when there is already a budget,
// and returns how many it wrote. For `tesla seed demo`, after billing.
func SeedDemoBudgets(ctx context.Context, q db.DBTX, now time.Time) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM budget`).Scan(&n); err != nil {
		return 0, fmt.Errorf("error seeding budgets: %w", err)
	}
	if n > 0 {
		return 0, nil
	}
	month := monthStart(now)
	pick := func(sql string, spend func([]int64) ([]cost.OwnerDay, error)) ([]int64, map[int64]decimal.Decimal, error) {
		rows, err := q.Query(ctx, sql)
		if err != nil {
			return nil, nil, err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(ids) == 0 {
			return ids, nil, err
		}
		ds, err := spend(ids)
		sums := map[int64]decimal.Decimal{}
		for _, d := range ds {
			sums[d.OwnerID] = sums[d.OwnerID].Add(d.Amount)
		}
		return ids, sums, err
	}
	end := month.AddDate(0, 1, 0)
	bus, buSpend, err := pick(`SELECT id FROM bu WHERE active AND parent_id IS NOT NULL ORDER BY id`,
		func(ids []int64) ([]cost.OwnerDay, error) { return cost.BUDailySpend(ctx, q, ids, month, end) })
	if err != nil {
		return 0, fmt.Errorf("error seeding budgets: %w", err)
	}
	people, personSpend, err := pick(`SELECT id FROM person WHERE active ORDER BY id`,
		func(ids []int64) ([]cost.OwnerDay, error) { return cost.PersonDailySpend(ctx, q, ids, month, end) })
	if err != nil {
		return 0, fmt.Errorf("error seeding budgets: %w", err)
	}
	largest := func(ids []int64, sums map[int64]decimal.Decimal) []int64 {
		out := slices.Clone(ids)
		slices.SortStableFunc(out, func(a, b int64) int { return sums[b].Cmp(sums[a]) })
		return out
	}
	bus, people = largest(bus, buSpend), largest(people, personSpend)
	for _, d := range demoShares {
		ids, sums := bus, buSpend
		if d.kind == Person {
			ids, sums = people, personSpend
		}
		if len(ids) == 0 {
			continue
		}
		id := ids[0]
		amount := sums[id].Mul(decimal.RequireFromString(d.share)).Round(0)
		if !amount.IsPositive() {
			amount = decimal.NewFromInt(1000)
		}
		var person, bu *int64
		if d.kind == Person {
			person, people = &id, people[1:]
		} else {
			bu, bus = &id, bus[1:]
		}
		if _, err := q.Exec(ctx, `INSERT INTO budget (person_id, bu_id, valid_from, amount, thresholds) VALUES ($1, $2, $3, $4, $5)`,
			person, bu, month, amount, DefaultThresholds); err != nil {
			return n, fmt.Errorf("error seeding budgets: %w", err)
		}
		n++
	}
	return n, nil
}
