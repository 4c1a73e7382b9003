package cost

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/db"
)

// OwnerDay is what was billed to one owner (a person, or a BU with its whole
// subtree) on one day.
type OwnerDay struct {
	OwnerID int64
	Day     time.Time
	Amount  decimal.Decimal
}

// PersonDailySpend returns, from the daily sums (bill_person_day), what each
// of people was billed per day in [from, to); days with nothing billed are
// left out. No access check: budgets check their caller, and the scheduled
// alert evaluation has none.
func PersonDailySpend(ctx context.Context, q db.DBTX, people []int64, from, to time.Time) ([]OwnerDay, error) {
	rows, err := q.Query(ctx, `SELECT person_id, day, sum(amount) FROM bill_person_day
		WHERE person_id = ANY($1) AND day >= $2 AND day < $3 GROUP BY 1, 2`, people, from, to)
	return ownerDays(rows, err, "people")
}

// BUDailySpend returns what each BU of bus and its whole subtree was billed
// per day in [from, to), from bill_bu_day (reading the bu tree read-only).
// No access check, as PersonDailySpend.
func BUDailySpend(ctx context.Context, q db.DBTX, bus []int64, from, to time.Time) ([]OwnerDay, error) {
	rows, err := q.Query(ctx, `WITH RECURSIVE t(root, id) AS (
			SELECT r, r FROM unnest($1::bigint[]) r
			UNION ALL SELECT t.root, b.id FROM bu b JOIN t ON b.parent_id = t.id)
		SELECT t.root, d.day, sum(d.amount) FROM t JOIN bill_bu_day d ON d.bu_id = t.id
		WHERE d.day >= $2 AND d.day < $3 GROUP BY 1, 2`, bus, from, to)
	return ownerDays(rows, err, "BUs")
}

// PlatformDailySpend returns what the whole installation was billed per day
// in [from, to) (OwnerID 0).
func PlatformDailySpend(ctx context.Context, q db.DBTX, from, to time.Time) ([]OwnerDay, error) {
	rows, err := q.Query(ctx, `SELECT 0::bigint, day, sum(amount) FROM bill_bu_day
		WHERE day >= $1 AND day < $2 GROUP BY 1, 2`, from, to)
	return ownerDays(rows, err, "the platform")
}

func ownerDays(rows pgx.Rows, err error, what string) ([]OwnerDay, error) {
	if err != nil {
		return nil, fmt.Errorf("error loading daily spend of %s: %w", what, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OwnerDay, error) {
		var d OwnerDay
		err := r.Scan(&d.OwnerID, &d.Day, &d.Amount)
		d.Day = d.Day.UTC()
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("error loading daily spend of %s: %w", what, err)
	}
	return out, nil
}

// PersonSpend returns what each of people was billed in [from, to), in one
// sum per person (people with nothing billed are left out). No access check,
// as PersonDailySpend.
func PersonSpend(ctx context.Context, q db.DBTX, people []int64, from, to time.Time) (map[int64]decimal.Decimal, error) {
	rows, err := q.Query(ctx, `SELECT person_id, sum(amount) FROM bill_person_day
		WHERE person_id = ANY($1) AND day >= $2 AND day < $3 GROUP BY 1`, people, from, to)
	return ownerSums(rows, err, "people")
}

// BUSpend returns what each BU of bus and its whole subtree was billed in
// [from, to), one sum per BU. No access check, as PersonDailySpend.
func BUSpend(ctx context.Context, q db.DBTX, bus []int64, from, to time.Time) (map[int64]decimal.Decimal, error) {
	rows, err := q.Query(ctx, `WITH RECURSIVE t(root, id) AS (
			SELECT r, r FROM unnest($1::bigint[]) r
			UNION ALL SELECT t.root, b.id FROM bu b JOIN t ON b.parent_id = t.id)
		SELECT t.root, sum(d.amount) FROM t JOIN bill_bu_day d ON d.bu_id = t.id
		WHERE d.day >= $2 AND d.day < $3 GROUP BY 1`, bus, from, to)
	return ownerSums(rows, err, "BUs")
}

func ownerSums(rows pgx.Rows, err error, what string) (map[int64]decimal.Decimal, error) {
	if err != nil {
		return nil, fmt.Errorf("error loading spend of %s: %w", what, err)
	}
	out := map[int64]decimal.Decimal{}
	var id int64
	var sum decimal.Decimal
	_, err = pgx.ForEachRow(rows, []any{&id, &sum}, func() error {
		out[id] = sum
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading spend of %s: %w", what, err)
	}
	return out, nil
}
