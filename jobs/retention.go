package jobs

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/watermark"
)

// RetentionConfig tunes Retention. Zero fields take the defaults.
type RetentionConfig struct {
	// Interval between runs (default 24h).
	Interval time.Duration
	// Timeout of a run (default 10m).
	Timeout time.Duration
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
	// LockTimeout bounds the wait for the parent table's lock when dropping a
	// partition (default 5s): ingestion queues behind a waiting DROP, so it is
	// better to give up and try again tomorrow.
	LockTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Retention drops raw host_metric partitions older than RawDays — whole
// partitions, never DELETE, so expiring a day of samples costs a catalog change
// instead of rewriting and vacuuming millions of rows — and deletes water levels
// and scheduler runs past their own retention.
type Retention struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	cfg    RetentionConfig
}

// NewRetention returns the retention job.
func NewRetention(pool *pgxpool.Pool, logger *slog.Logger, cfg RetentionConfig) *Retention {
	cfg.Interval = cmp.Or(cfg.Interval, 24*time.Hour)
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Minute)
	cfg.RawDays = cmp.Or(cfg.RawDays, 14)
	cfg.MinuteDays = cmp.Or(cfg.MinuteDays, 30)
	cfg.CoarseDays = cmp.Or(cfg.CoarseDays, 400)
	cfg.RunDays = cmp.Or(cfg.RunDays, 30)
	cfg.LockTimeout = cmp.Or(cfg.LockTimeout, 5*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Retention{pool: pool, logger: logger, cfg: cfg}
}

// Name is "retention".
func (*Retention) Name() string { return NameRetention }

// Description says what the job does.
func (r *Retention) Description() string {
	return fmt.Sprintf("Drops raw samples older than %d days (whole daily partitions), 1-minute water levels older than %d days, hourly and daily ones older than %d days.",
		r.cfg.RawDays, r.cfg.MinuteDays, r.cfg.CoarseDays)
}

// Interval between runs.
func (r *Retention) Interval() time.Duration { return r.cfg.Interval }

// Timeout of a run.
func (r *Retention) Timeout() time.Duration { return r.cfg.Timeout }

// partitionPrefix is how ensure_host_metric_partitions names a day's partition.
const partitionPrefix = "host_metric_"

// RunOnce expires what is past retention. Rows counts partitions dropped plus
// rows deleted.
func (r *Retention) RunOnce(ctx context.Context) (Result, error) {
	now := r.cfg.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	rawCutoff := today.AddDate(0, 0, -r.cfg.RawDays)

	dropped, err := r.dropPartitions(ctx, rawCutoff)
	if err != nil {
		return Result{Rows: int64(len(dropped)), Details: map[string]any{"partitions_dropped": dropped}}, err
	}
	levels, err := watermark.Expire(ctx, r.pool,
		now.AddDate(0, 0, -r.cfg.MinuteDays), now.AddDate(0, 0, -r.cfg.CoarseDays))
	if err != nil {
		return Result{Rows: int64(len(dropped))}, err
	}
	tag, err := r.pool.Exec(ctx, `DELETE FROM scheduler_run WHERE started_at < $1`, now.AddDate(0, 0, -r.cfg.RunDays))
	if err != nil {
		return Result{}, fmt.Errorf("error expiring scheduler runs: %w", err)
	}
	runs := tag.RowsAffected()
	return Result{
		Rows: int64(len(dropped)) + levels.Minutes + levels.Hours + levels.Days + runs,
		Details: map[string]any{
			"partitions_dropped": dropped, "raw_before": rawCutoff.Format(time.DateOnly),
			"levels_1m": levels.Minutes, "levels_1h": levels.Hours, "levels_1d": levels.Days,
			"scheduler_runs": runs,
		},
	}, nil
}

// dropPartitions drops every host_metric partition whose whole day lies before
// cutoff and returns the names dropped. Partitions are found in pg_inherits and
// their day read from the name; a partition named otherwise (made by hand) is
// left alone with a warning.
func (r *Retention) dropPartitions(ctx context.Context, cutoff time.Time) ([]string, error) {
	rows, err := r.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'host_metric'::regclass ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("error listing host_metric partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("error listing host_metric partitions: %w", err)
	}
	dropped := []string{}
	for _, name := range names {
		d, ok := partitionDay(name)
		if !ok {
			r.logger.WarnContext(ctx, "retention: partition name without a day, left alone", "partition", name)
			continue
		}
		if d.AddDate(0, 0, 1).After(cutoff) {
			continue
		}
		// DROP takes the same brief ACCESS EXCLUSIVE lock on the parent that a
		// DETACH would, so detaching first would only add a step.
		err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`,
				strconv.FormatInt(r.cfg.LockTimeout.Milliseconds(), 10)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{name}.Sanitize())
			return err
		})
		if err != nil {
			return dropped, fmt.Errorf("error dropping partition %s: %w", name, err)
		}
		dropped = append(dropped, name)
	}
	return dropped, nil
}

// partitionDay parses the day of a partition named host_metric_YYYYMMDD.
func partitionDay(name string) (time.Time, bool) {
	s, ok := strings.CutPrefix(name, partitionPrefix)
	if !ok || len(s) != 8 {
		return time.Time{}, false
	}
	d, err := time.Parse("20060102", s)
	return d, err == nil
}
