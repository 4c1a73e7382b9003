package health

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db"
)

// Budgets is the BudgetSource of internal/budget's budgets: each person's and
// BU's budget in force in the month (its row with the latest valid_from not
// after the month, as internal/budget reads it) against the month's spend to
// date from the bills' daily sums (cost.PersonDailySpend, cost.BUDailySpend: a
// BU's spend is its whole subtree's, as its budget covers). The budget table
// is read read-only here: internal/budget offers no unchecked read of every
// owner's budget for a scheduled job.
type Budgets struct {
	q db.DBTX
}

// NewBudgets returns the budgets source over q.
func NewBudgets(q db.DBTX) *Budgets { return &Budgets{q: q} }

// Adherence returns spend ÷ amount of the month holding now, by person and by BU.
func (b *Budgets) Adherence(ctx context.Context, now time.Time) (people, bus map[int64]float64, err error) {
	now = now.UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	rows, err := b.q.Query(ctx, `SELECT DISTINCT ON (person_id, bu_id) person_id, bu_id, amount FROM budget
		WHERE valid_from <= $1 ORDER BY person_id, bu_id, valid_from DESC`, month)
	if err != nil {
		return nil, nil, fmt.Errorf("error loading budgets: %w", err)
	}
	amounts := map[[2]int64]decimal.Decimal{} // [0 person | 1 BU, id]
	var pids, bids []int64
	var person, bu *int64
	var amount decimal.Decimal
	if _, err := pgx.ForEachRow(rows, []any{&person, &bu, &amount}, func() error {
		if person != nil {
			amounts[[2]int64{0, *person}] = amount
			pids = append(pids, *person)
		} else if bu != nil {
			amounts[[2]int64{1, *bu}] = amount
			bids = append(bids, *bu)
		}
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("error loading budgets: %w", err)
	}
	people, bus = map[int64]float64{}, map[int64]float64{}
	ratios := func(kind int64, ids []int64, into map[int64]float64,
		spend func(context.Context, db.DBTX, []int64, time.Time, time.Time) ([]cost.OwnerDay, error)) error {
		if len(ids) == 0 {
			return nil
		}
		days, err := spend(ctx, b.q, ids, month, now.Truncate(24*time.Hour).AddDate(0, 0, 1))
		if err != nil {
			return err
		}
		sums := map[int64]decimal.Decimal{}
		for _, d := range days {
			sums[d.OwnerID] = sums[d.OwnerID].Add(d.Amount)
		}
		for _, id := range ids {
			a := amounts[[2]int64{kind, id}]
			if a.IsPositive() {
				into[id] = sums[id].Div(a).InexactFloat64()
			}
		}
		return nil
	}
	if err := ratios(0, pids, people, cost.PersonDailySpend); err != nil {
		return nil, nil, err
	}
	if err := ratios(1, bids, bus, cost.BUDailySpend); err != nil {
		return nil, nil, err
	}
	return people, bus, nil
}
