package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/watermark"
)

// autoscaleJob runs auto scale-out (aquila.Service.Autoscale): clusters whose
// watermark forecast crosses their threshold within the horizon get an OPEN
// proposal sized to bring the forecast peak back under it (refreshed in
// place, one per cluster), and clusters whose policy is AUTO get the
// scale-out started at once as system:autoscale. It submits through an
// insert-only engine: the operation workers of any replica run it. Rows
// counts the proposals opened or refreshed.
func autoscaleJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg aquila.AutoscaleConfig) Job {
	logger := slog.New(slog.DiscardHandler)
	return New(spec(NameAutoscale, "Reads the watermark forecast and proposes (or, for clusters whose policy is AUTO, starts) the scale-out that keeps each cluster under its threshold within the horizon."),
		func(ctx context.Context) (Result, error) {
			engine, err := aquila.NewEngine(pool, nil, logger, aquila.EngineConfig{NoWork: true})
			if err != nil {
				return Result{}, fmt.Errorf("error building the operation engine: %w", err)
			}
			svc := aquila.NewService(pool, engine, audit.New(pool, logger))
			r, err := svc.Autoscale(ctx, watermark.NewService(pool, nil, logger), cfg, logger)
			return Result{Rows: int64(r.Opened + r.Refreshed), Details: map[string]any{
				"at_risk": r.AtRisk, "opened": r.Opened, "refreshed": r.Refreshed, "started": r.Started, "expired": r.Expired,
			}}, err
		})
}
