package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/cost"
)

// billingJob re-bills yesterday and today up to the last complete hour (see
// cost.Biller): each day replaced whole in one transaction, so a run that
// fails or overlaps a late one leaves every day consistent. Rows counts the
// bill lines written.
func billingJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg cost.Config, bcfg cost.BillingConfig) Job {
	b := cost.NewBiller(pool, cfg, bcfg, nil)
	return New(spec(NameBilling, "Bills the jobs' hourly usage of yesterday and today at the rate cards' prices, with idle capacity, overhead and rounding lines, replacing each day whole."),
		func(ctx context.Context) (Result, error) {
			r, err := b.RunOnce(ctx)
			return Result{Rows: int64(r.Lines), Details: map[string]any{
				"days": r.Days, "clusters": r.Clusters, "unpriced": r.Unpriced, "unplaced_datasets": r.Unplaced, "lines": r.Lines,
				"total": r.Total.StringFixed(2), "currency": cfg.WithDefaults().Currency,
			}}, err
		})
}
