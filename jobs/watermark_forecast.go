package jobs

import (
	"cmp"
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/watermark"
)

// WatermarkForecastConfig tunes WatermarkForecast. Zero fields take the defaults.
type WatermarkForecastConfig struct {
	// Interval between runs (default 1h): forecasts fit daily peaks, so hourly
	// is plenty and still picks up a day soon after it completes.
	Interval time.Duration
	// Timeout of a run (default 10m).
	Timeout time.Duration
	// Forecast tunes the fit.
	Forecast watermark.ForecastConfig
}

// WatermarkForecast fits the trend of every cluster's daily peaks and stores when
// each is expected to cross its threshold (see watermark.Forecaster).
type WatermarkForecast struct {
	cfg        WatermarkForecastConfig
	forecaster *watermark.Forecaster
}

// NewWatermarkForecast returns the forecast job.
func NewWatermarkForecast(pool *pgxpool.Pool, cfg WatermarkForecastConfig) *WatermarkForecast {
	cfg.Interval = cmp.Or(cfg.Interval, time.Hour)
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Minute)
	return &WatermarkForecast{cfg: cfg, forecaster: watermark.NewForecaster(pool, cfg.Forecast)}
}

// Name is "watermark-forecast".
func (*WatermarkForecast) Name() string { return NameWatermarkForecast }

// Description says what the job does.
func (*WatermarkForecast) Description() string {
	return "Fits the trend of each cluster's daily peak utilisation (Theil-Sen) and forecasts when it crosses the threshold."
}

// Interval between runs.
func (w *WatermarkForecast) Interval() time.Duration { return w.cfg.Interval }

// Timeout of a run.
func (w *WatermarkForecast) Timeout() time.Duration { return w.cfg.Timeout }

// RunOnce recomputes every forecast; Rows counts forecasts written and removed.
func (w *WatermarkForecast) RunOnce(ctx context.Context) (Result, error) {
	r, err := w.forecaster.RunOnce(ctx)
	return Result{Rows: r.Forecasts + r.Removed, Details: map[string]any{
		"forecasts": r.Forecasts, "rising": r.Rising, "crossing": r.Crossing, "removed": r.Removed,
	}}, err
}
