package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/telemetry"
)

// partitionsJob creates the daily host_metric partitions from today (UTC) to ahead
// days ahead. Creating them ahead, rather than when a sample first needs one,
// keeps DDL and its locks off the ingestion path; the writer still creates a
// missing one, so this job is an optimisation, not a precondition.
func partitionsJob(pool *pgxpool.Pool, spec func(name, description string) Spec, ahead int, now func() time.Time) Job {
	return New(spec(NamePartitions, fmt.Sprintf("Creates the daily host_metric partitions from today to %d days ahead.", ahead)),
		func(ctx context.Context) (Result, error) {
			from := now().UTC().Truncate(24 * time.Hour)
			to := from.AddDate(0, 0, ahead)
			created, err := telemetry.EnsurePartitions(ctx, pool, from, to)
			return Result{Rows: int64(created), Details: map[string]any{
				"created": created, "from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly),
			}}, err
		})
}
