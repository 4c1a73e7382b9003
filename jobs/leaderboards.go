package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/leaderboard"
)

// leaderboardsJob recomputes the leaderboards of the periods containing
// yesterday and today, for days, weeks and months (see
// leaderboard.Computer): each period replaced whole in one transaction, then
// old periods pruned. Rows counts the entries written.
func leaderboardsJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg leaderboard.Config, health leaderboard.HealthSource) Job {
	c := leaderboard.NewComputer(pool, cfg, health, nil)
	return New(spec(NameLeaderboards, "Ranks jobs, people and BUs by efficiency, cost per core-hour, failure rate, findings and health for the day, week and month containing yesterday and today, replacing each period whole."),
		func(ctx context.Context) (Result, error) {
			r, err := c.RunOnce(ctx)
			return Result{Rows: r.Entries, Details: map[string]any{"periods": r.Periods, "entries": r.Entries, "pruned": r.Pruned}}, err
		})
}
