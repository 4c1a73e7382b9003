package jobs

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PartitionsConfig tunes Partitions. Zero fields take the defaults.
type PartitionsConfig struct {
	// Interval between runs (default 1h): a missed run still leaves days of
	// partitions ahead.
	Interval time.Duration
	// Timeout of a run (default 1m).
	Timeout time.Duration
	// DaysAhead is how many days after today get a partition (default 3), so a
	// scheduler outage of a few days never makes ingestion fail for want of one.
	DaysAhead int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Partitions creates the daily host_metric partitions from today (UTC) to
// DaysAhead days ahead. Creating them ahead, rather than when a sample first
// needs one, keeps DDL and its locks off the ingestion path.
type Partitions struct {
	pool *pgxpool.Pool
	cfg  PartitionsConfig
}

// NewPartitions returns the partitions job.
func NewPartitions(pool *pgxpool.Pool, cfg PartitionsConfig) *Partitions {
	cfg.Interval = cmp.Or(cfg.Interval, time.Hour)
	cfg.Timeout = cmp.Or(cfg.Timeout, time.Minute)
	cfg.DaysAhead = cmp.Or(cfg.DaysAhead, 3)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Partitions{pool: pool, cfg: cfg}
}

// Name is "partitions".
func (*Partitions) Name() string { return NamePartitions }

// Description says what the job does.
func (p *Partitions) Description() string {
	return fmt.Sprintf("Creates the daily host_metric partitions from today to %d days ahead.", p.cfg.DaysAhead)
}

// Interval between runs.
func (p *Partitions) Interval() time.Duration { return p.cfg.Interval }

// Timeout of a run.
func (p *Partitions) Timeout() time.Duration { return p.cfg.Timeout }

// RunOnce creates the missing partitions; Rows is how many it created.
func (p *Partitions) RunOnce(ctx context.Context) (Result, error) {
	from := p.cfg.Now().UTC().Truncate(24 * time.Hour)
	to := from.AddDate(0, 0, p.cfg.DaysAhead+1)
	var created int64
	if err := p.pool.QueryRow(ctx, `SELECT ensure_host_metric_partitions($1::date, $2::date)`,
		from.Format(time.DateOnly), to.Format(time.DateOnly)).Scan(&created); err != nil {
		return Result{}, fmt.Errorf("error creating host_metric partitions: %w", err)
	}
	return Result{Rows: created, Details: map[string]any{
		"created": created, "from": from.Format(time.DateOnly), "to": to.AddDate(0, 0, -1).Format(time.DateOnly),
	}}, nil
}
