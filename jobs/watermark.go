package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/watermark"
)

// rollupJob rolls dirty minutes of raw samples up into water levels (see
// watermark.Rollup) and notifies the live screens. Rows counts level rows
// changed.
func rollupJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg watermark.RollupConfig) Job {
	rollup := watermark.NewRollup(pool, cfg)
	return New(spec(NameWatermarkRollup, "Rolls the minutes of samples marked dirty up into 1-minute, hourly and daily cluster water levels, and notifies live screens."),
		func(ctx context.Context) (Result, error) {
			r, err := rollup.RunOnce(ctx)
			return Result{Rows: r.Rows(), Details: map[string]any{
				"minutes": r.Minutes, "batches": r.Batches, "levels": r.Levels, "written": r.Written,
				"removed": r.Removed, "hours": r.Hours, "days": r.Days, "clusters": len(r.Clusters),
			}}, err
		})
}

// forecastJob fits the trend of every cluster's daily peaks and stores when
// each is expected to cross its threshold (see watermark.Forecaster). Rows counts
// forecasts written and removed.
func forecastJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg watermark.ForecastConfig) Job {
	forecaster := watermark.NewForecaster(pool, cfg)
	return New(spec(NameWatermarkForecast, "Fits the trend of each cluster's daily peak utilisation (Theil-Sen) and forecasts when it crosses the threshold."),
		func(ctx context.Context) (Result, error) {
			r, err := forecaster.RunOnce(ctx)
			return Result{Rows: r.Forecasts + r.Removed, Details: map[string]any{
				"forecasts": r.Forecasts, "rising": r.Rising, "crossing": r.Crossing, "removed": r.Removed,
			}}, err
		})
}
