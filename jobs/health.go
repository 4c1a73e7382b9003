package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/health"
)

// healthJob scores every host, cluster, job, person and BU and stores the
// scores and the day's history (see health.Computer): each level replaced in
// a transaction of its own, so a run that fails leaves every level whole, and
// running again stores the same rows. Rows counts the scores stored.
func healthJob(pool *pgxpool.Pool, spec func(name, description string) Spec, c *health.Computer) Job {
	return New(spec(NameHealth, "Scores the health (0–100, weighted components with reasons) of every host, cluster, job, person and BU, and keeps the last score of each day."),
		func(ctx context.Context) (Result, error) {
			r, err := c.RunOnce(ctx)
			details := map[string]any{"computed_at": r.ComputedAt}
			for l, n := range r.Scored {
				details[string(l)] = n
				details[string(l)+"_changed"] = r.Changed[l]
				details[string(l)+"_ms"] = r.Took[l].Milliseconds()
			}
			return Result{Rows: r.Rows(), Details: details}, err
		})
}
