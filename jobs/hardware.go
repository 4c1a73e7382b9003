package jobs

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/hardware"
)

// hardwareJob computes the hardware failure rates (by model, age and cluster)
// and the hosts to replace next ahead of the Hardware page (see
// hardware.Refresh): each run recomputes when a fault, lifecycle or ticket step
// was recorded since the last computation, or when that is older than
// hardware.RefreshEvery; otherwise it leaves the figures alone. Rows counts
// the rate rows and ranked hosts stored (0: nothing to do).
func hardwareJob(pool *pgxpool.Pool, spec func(name, description string) Spec, now func() time.Time) Job {
	return New(spec(NameHardwareReliability, "Computes the hardware failure rates by model, age and cluster and the hosts to replace next, after a fault, lifecycle or repair step is recorded and at least every 10 minutes, so the Hardware page reads stored figures."),
		func(ctx context.Context) (Result, error) {
			res, err := hardware.Refresh(ctx, pool, now(), false)
			details := map[string]any{"computed": res.Computed, "computed_at": res.ComputedAt}
			if res.Computed {
				details["groups"], details["candidates"], details["took_ms"] = res.Groups, res.Candidates, res.Took.Milliseconds()
			}
			return Result{Rows: int64(res.Groups + res.Candidates), Details: details}, err
		})
}
