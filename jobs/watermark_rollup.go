package jobs

import (
	"cmp"
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/watermark"
)

// WatermarkRollupConfig tunes WatermarkRollup. Zero fields take the defaults.
type WatermarkRollupConfig struct {
	// Interval between runs (default 1m): levels are as fresh as the last
	// complete minute.
	Interval time.Duration
	// Timeout of a run (default 5m): a backlog is worked off in bounded batches,
	// each committed, so a run cut short loses nothing.
	Timeout time.Duration
	// Rollup tunes the rollup itself.
	Rollup watermark.RollupConfig
}

// WatermarkRollup rolls dirty minutes of raw samples up into water levels (see
// watermark.Rollup) and notifies the live screens.
type WatermarkRollup struct {
	cfg    WatermarkRollupConfig
	rollup *watermark.Rollup
}

// NewWatermarkRollup returns the rollup job.
func NewWatermarkRollup(pool *pgxpool.Pool, cfg WatermarkRollupConfig) *WatermarkRollup {
	cfg.Interval = cmp.Or(cfg.Interval, time.Minute)
	cfg.Timeout = cmp.Or(cfg.Timeout, 5*time.Minute)
	return &WatermarkRollup{cfg: cfg, rollup: watermark.NewRollup(pool, cfg.Rollup)}
}

// Name is "watermark-rollup".
func (*WatermarkRollup) Name() string { return NameWatermarkRollup }

// Description says what the job does.
func (*WatermarkRollup) Description() string {
	return "Rolls the minutes of samples marked dirty up into 1-minute, hourly and daily cluster water levels, and notifies live screens."
}

// Interval between runs.
func (w *WatermarkRollup) Interval() time.Duration { return w.cfg.Interval }

// Timeout of a run.
func (w *WatermarkRollup) Timeout() time.Duration { return w.cfg.Timeout }

// RunOnce rolls up the dirty minutes; Rows counts level rows changed.
func (w *WatermarkRollup) RunOnce(ctx context.Context) (Result, error) {
	r, err := w.rollup.RunOnce(ctx)
	return Result{Rows: r.Rows(), Details: map[string]any{
		"minutes": r.Minutes, "batches": r.Batches, "levels": r.Levels, "written": r.Written,
		"removed": r.Removed, "hours": r.Hours, "days": r.Days, "clusters": len(r.Clusters),
	}}, err
}
