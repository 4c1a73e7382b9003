package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/telemetry"
)

// hostHoursJob derives the hourly per-host sums of the complete hours the
// watermark rollup marked (see telemetry.RollupHostHours), which the machine
// analysis compares a host's peers from. Rows counts host rows changed.
func hostHoursJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg telemetry.HostHoursConfig) Job {
	return New(spec(NameHostHours, "Sums each host's samples per complete hour (again after late samples), for the machine analysis' peer comparison."),
		func(ctx context.Context) (Result, error) {
			r, err := telemetry.RollupHostHours(ctx, pool, cfg)
			return Result{Rows: r.Written + r.Removed, Details: map[string]any{
				"hours": r.Hours, "written": r.Written, "removed": r.Removed,
			}}, err
		})
}
