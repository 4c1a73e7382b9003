package jobs

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/telemetry"
	"github.com/teslaops/tesla/internal/watermark"
)

// Retention says how long each kind of data is kept. Zero fields take the
// defaults.
type Retention struct {
	// RawDays is how many days of raw samples are kept (default 14): long enough
	// to re-roll any minute of the 1-minute levels' recent past and to analyse a
	// host over two weeks, short enough that raw data (the bulk of the database)
	// stays bounded.
	RawDays int
	// MinuteDays is how many days of 1-minute levels are kept (default 30).
	MinuteDays int
	// CoarseDays is how many days of hourly and daily levels are kept (default
	// 400): a year and a month, so this month compares with last year's.
	CoarseDays int
	// RunDays is how many days of scheduler_run history are kept (default 30).
	RunDays int
}

func (r Retention) withDefaults() Retention {
	r.RawDays = cmp.Or(r.RawDays, 14)
	r.MinuteDays = cmp.Or(r.MinuteDays, 30)
	r.CoarseDays = cmp.Or(r.CoarseDays, 400)
	r.RunDays = cmp.Or(r.RunDays, 30)
	return r
}

// retentionJob expires what is past its retention: raw host_metric partitions older
// than RawDays (whole partitions, never DELETE, so expiring a day of samples
// costs a catalog change instead of rewriting and vacuuming millions of rows)
// and their hourly host sums (host_metric_1h, deleted: 1/240 of the raw rows at
// 15-s samples), then water levels and scheduler runs. Rows counts partitions dropped plus rows
// deleted.
func retentionJob(pool *pgxpool.Pool, spec func(name, description string) Spec, keep Retention, now func() time.Time) Job {
	description := fmt.Sprintf("Drops raw samples older than %d days (whole daily partitions) with their hourly host sums, 1-minute water levels older than %d days, hourly and daily ones older than %d days.",
		keep.RawDays, keep.MinuteDays, keep.CoarseDays)
	return New(spec(NameRetention, description), func(ctx context.Context) (Result, error) {
		now := now().UTC()
		rawCutoff := now.Truncate(24*time.Hour).AddDate(0, 0, -keep.RawDays)
		dropped, err := telemetry.DropPartitionsBefore(ctx, pool, rawCutoff, telemetry.DefaultDropLockTimeout)
		if err != nil {
			return Result{Rows: int64(len(dropped)), Details: map[string]any{"partitions_dropped": dropped}}, err
		}
		// Hourly host sums go with the raw samples they summarise: the analysis
		// reads neither beyond them.
		hostHours, err := telemetry.ExpireHostHours(ctx, pool, rawCutoff)
		if err != nil {
			return Result{Rows: int64(len(dropped))}, err
		}
		levels, err := watermark.Expire(ctx, pool,
			now.AddDate(0, 0, -keep.MinuteDays), now.AddDate(0, 0, -keep.CoarseDays))
		if err != nil {
			return Result{Rows: int64(len(dropped))}, err
		}
		runs, err := expireRuns(ctx, pool, now.AddDate(0, 0, -keep.RunDays))
		if err != nil {
			return Result{}, err
		}
		return Result{
			Rows: int64(len(dropped)) + hostHours + levels.Minutes + levels.Hours + levels.Days + runs,
			Details: map[string]any{
				"partitions_dropped": dropped, "raw_before": rawCutoff.Format(time.DateOnly),
				"levels_1m": levels.Minutes, "levels_1h": levels.Hours, "levels_1d": levels.Days,
				"scheduler_runs": runs, "host_hours": hostHours,
			},
		}, nil
	})
}
