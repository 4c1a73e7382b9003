package jobs

import (
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The names of the standard jobs.
const (
	NamePartitions        = "partitions"
	NameRetention         = "retention"
	NameWatermarkRollup   = "watermark-rollup"
	NameWatermarkForecast = "watermark-forecast"
)

// DefaultConfig configures the standard job set; its zero value is the default
// for every job (see each job's Config for the defaults and why).
type DefaultConfig struct {
	Partitions        PartitionsConfig
	Retention         RetentionConfig
	WatermarkRollup   WatermarkRollupConfig
	WatermarkForecast WatermarkForecastConfig
}

// Default returns the standard job set, in the order `tesla jobs list` shows it:
// partitions (hourly), retention (daily), watermark-rollup (every minute) and
// watermark-forecast (hourly).
func Default(pool *pgxpool.Pool, logger *slog.Logger, cfg DefaultConfig) []Job {
	return []Job{
		NewPartitions(pool, cfg.Partitions),
		NewRetention(pool, logger, cfg.Retention),
		NewWatermarkRollup(pool, cfg.WatermarkRollup),
		NewWatermarkForecast(pool, cfg.WatermarkForecast),
	}
}
