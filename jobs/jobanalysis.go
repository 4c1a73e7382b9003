package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/workload"
)

// jobAnalysisJob analyses the jobs whose runs finished since its last pass,
// and streaming jobs once per complete hour (see workload.RunAnalysis). Rows
// counts jobs analysed.
func jobAnalysisJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg workload.AnalysisConfig) Job {
	return New(spec(NameJobAnalysis, "Analyses the last runs of jobs with newly finished runs (streaming jobs: their last hours) for wasted memory and CPU, skew, queue wait, failures and slowdowns, and ranks them."),
		func(ctx context.Context) (Result, error) {
			r, err := workload.RunAnalysis(ctx, pool, cfg)
			return Result{Rows: int64(r.Jobs), Details: map[string]any{
				"jobs": r.Jobs, "batches": r.Batches, "findings": r.Findings, "flagged": r.Flagged,
				"until": r.Until,
			}}, err
		})
}
