package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/clustering"
)

// clusteringJob groups the hosts by their behaviour over the last day (see
// clustering.Service.RunOnce). Rows counts the hosts placed.
func clusteringJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg clustering.Config) Job {
	svc := clustering.NewService(pool, nil, cfg)
	return New(spec(NameMachineClustering, "Groups the hosts by their CPU, memory, IO, network and container load over the last day, for the machine clustering chart and the peer analysis."),
		func(ctx context.Context) (Result, error) {
			out, err := svc.RunOnce(ctx)
			return Result{Rows: int64(out.Hosts), Details: map[string]any{
				"run_id": out.RunID, "hosts": out.Hosts, "k": out.K, "outliers": out.Outliers, "quality": out.Quality,
			}}, err
		})
}
