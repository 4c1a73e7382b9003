package page

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// EstimateAbove is the table size from which an unfiltered listing of a table
// reports the planner's row estimate as its total instead of counting. Counting
// all rows reads the whole table (or its smallest index) on every page; below
// this size that costs well under a millisecond, above it the cost grows with the
// table while the estimate stays free; autovacuum refreshes it once about a tenth
// of the table has changed, so it lags the true count by up to ~10%.
const EstimateAbove = 50_000

// QueryRower is the part of a pool, connection or transaction a count needs.
type QueryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// CountTotal returns the total of a listing over table. A filtered listing is
// counted exactly by count (filters narrow through an index); an unfiltered one
// reports the estimate in pg_class once the table holds EstimateAbove rows or
// more, and is counted exactly below that (and when the table has never been
// analysed). table is a name from code, never from input.
func CountTotal(ctx context.Context, q QueryRower, table string, filtered bool, count func() (int, error)) (Total, error) {
	if !filtered {
		var est float64
		if err := q.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, table).Scan(&est); err != nil {
			return Total{}, fmt.Errorf("error estimating rows of %s: %w", table, err)
		}
		if est >= EstimateAbove {
			return Total{N: int(est), Estimated: true}, nil
		}
	}
	n, err := count()
	return Total{N: n}, err
}
