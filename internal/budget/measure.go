package budget

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db"
)

// ErrorReport is the forecast's measured error over an installation's
// bills: the mean absolute percentage error of mid-month forecasts of the
// complete months before now, for the whole platform, and averaged over
// every BU subtree and every person with enough history.
type ErrorReport struct {
	Platform       float64
	PlatformMonths int
	// BUs and People are the means of the owners' own errors; the counts
	// are owners and owner-months checked.
	BUs          float64
	BUCount      int
	BUMonths     int
	People       float64
	PersonCount  int
	PersonMonths int
	// Linear* are the same errors of the baseline: month to date stretched
	// over the month.
	LinearPlatform, LinearBUs, LinearPeople float64
}

// MeasureError measures the forecast on the bills as of now (docs/cost.md
// "Budgets" gives the demo's numbers).
func MeasureError(ctx context.Context, q db.DBTX, now time.Time) (ErrorReport, error) {
	current := monthStart(now)
	from := current.AddDate(0, -ErrorHistoryMonths, 0)
	var r ErrorReport
	ds, err := cost.PlatformDailySpend(ctx, q, from, current)
	if err != nil {
		return r, err
	}
	r.Platform, r.PlatformMonths = measureError(collect(ds)[0], current)
	r.LinearPlatform, _ = measureWith(collect(ds)[0], current, linearEndOfMonth)
	ids := func(sql string) ([]int64, error) {
		rows, err := q.Query(ctx, sql)
		if err != nil {
			return nil, fmt.Errorf("error loading owners: %w", err)
		}
		return pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	bus, err := ids(`SELECT id FROM bu`)
	if err != nil {
		return r, err
	}
	people, err := ids(`SELECT id FROM person`)
	if err != nil {
		return r, err
	}
	if ds, err = cost.BUDailySpend(ctx, q, bus, from, current); err != nil {
		return r, err
	}
	r.BUs, r.BUCount, r.BUMonths = meanError(collect(ds), current, measureError)
	r.LinearBUs, _, _ = meanError(collect(ds), current, linear)
	if ds, err = cost.PersonDailySpend(ctx, q, people, from, current); err != nil {
		return r, err
	}
	r.People, r.PersonCount, r.PersonMonths = meanError(collect(ds), current, measureError)
	r.LinearPeople, _, _ = meanError(collect(ds), current, linear)
	return r, nil
}

func collect(ds []cost.OwnerDay) map[int64]Series {
	out := map[int64]Series{}
	for _, d := range ds {
		if out[d.OwnerID] == nil {
			out[d.OwnerID] = Series{}
		}
		out[d.OwnerID][d.Day] = d.Amount
	}
	return out
}

func linear(s Series, current time.Time) (float64, int) {
	return measureWith(s, current, linearEndOfMonth)
}

func meanError(by map[int64]Series, current time.Time, measure func(Series, time.Time) (float64, int)) (mean float64, owners, months int) {
	var sum float64
	for _, s := range by {
		e, n := measure(s, current)
		if n == 0 {
			continue
		}
		sum += e
		owners++
		months += n
	}
	if owners > 0 {
		mean = sum / float64(owners)
	}
	return mean, owners, months
}
