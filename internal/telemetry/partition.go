package telemetry

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// host_metric is range-partitioned by UTC day, one table per day named
// host_metric_YYYYMMDD (see ensure_host_metric_partitions in the migrations), so
// retention drops whole tables instead of deleting rows, and a query over a time
// range only reads the days it covers.

const partitionPrefix = "host_metric_"

// Partition is one daily partition of host_metric.
type Partition struct {
	Name string
	// Day is the UTC midnight the partition starts at; it holds [Day, Day+24h).
	Day time.Time
	// RowEstimate is the planner's estimate (pg_class.reltuples), refreshed by
	// (auto)analyze; -1 while the partition has never been analysed.
	RowEstimate int64
	// Bytes is the partition's total size on disk, indexes included.
	Bytes int64
}

// EnsurePartitions creates the missing daily partitions for every UTC day from
// from's day through to's day, both included, and returns how many it created. It
// is idempotent and safe to run from several replicas at once (the SQL function
// serialises on an advisory lock).
func EnsurePartitions(ctx context.Context, dbtx db.DBTX, from, to time.Time) (int, error) {
	fromDay, toDay := utcDay(from), utcDay(to).AddDate(0, 0, 1)
	var created int
	if err := dbtx.QueryRow(ctx, `SELECT ensure_host_metric_partitions($1::date, $2::date)`,
		fromDay.Format(time.DateOnly), toDay.Format(time.DateOnly)).Scan(&created); err != nil {
		return 0, fmt.Errorf("error ensuring host_metric partitions %s..%s: %w",
			fromDay.Format(time.DateOnly), toDay.Format(time.DateOnly), err)
	}
	return created, nil
}

// ListPartitions returns host_metric's daily partitions, oldest first. Tables
// attached under other names are not daily partitions and are left out.
func ListPartitions(ctx context.Context, dbtx db.DBTX) ([]Partition, error) {
	rows, err := dbtx.Query(ctx, `SELECT c.relname::text, c.reltuples::bigint, pg_total_relation_size(c.oid)
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'host_metric'::regclass
		ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("error listing host_metric partitions: %w", err)
	}
	var out []Partition
	var p Partition
	_, err = pgx.ForEachRow(rows, []any{&p.Name, &p.RowEstimate, &p.Bytes}, func() error {
		day, ok := partitionDay(p.Name)
		if !ok {
			return nil
		}
		q := p
		q.Day = day
		if q.RowEstimate < 0 {
			q.RowEstimate = -1
		}
		out = append(out, q)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error listing host_metric partitions: %w", err)
	}
	return out, nil
}

// DefaultDropLockTimeout is how long DropPartitionsBefore waits, per partition,
// for the lock on host_metric when given no timeout of its own.
const DefaultDropLockTimeout = 5 * time.Second

// DropPartitionsBefore detaches and drops every daily partition that ends on or
// before day's UTC midnight, that is, whose whole day lies before day. It returns
// the names of the partitions dropped, also when it fails part-way. Tables
// attached under other names (made by hand) are never touched.
//
// Each partition goes in its own short transaction: detached first, so it stops
// being part of host_metric, then dropped. Detaching needs an exclusive lock on
// host_metric, and a retention run that waited behind a long dashboard query
// would hold up every ingest queued behind it; so the wait is bounded by
// lockTimeout (DefaultDropLockTimeout when not positive). When the lock is not
// granted in time the error says so and the next run tries again.
func DropPartitionsBefore(ctx context.Context, dbtx db.DBTX, day time.Time, lockTimeout time.Duration) ([]string, error) {
	if lockTimeout <= 0 {
		lockTimeout = DefaultDropLockTimeout
	}
	parts, err := ListPartitions(ctx, dbtx)
	if err != nil {
		return nil, err
	}
	cutoff := utcDay(day)
	dropped := []string{}
	for _, p := range parts {
		if !p.Day.Before(cutoff) {
			break // sorted by name, that is by day
		}
		ident := pgx.Identifier{p.Name}.Sanitize()
		err := db.InTx(ctx, dbtx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`,
				strconv.FormatInt(lockTimeout.Milliseconds(), 10)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `ALTER TABLE host_metric DETACH PARTITION `+ident); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DROP TABLE `+ident)
			return err
		})
		if err != nil {
			return dropped, fmt.Errorf("error dropping host_metric partition %s: %w", p.Name, err)
		}
		dropped = append(dropped, p.Name)
	}
	return dropped, nil
}

// partitionDay parses the day out of a partition's name.
func partitionDay(name string) (time.Time, bool) {
	s, ok := strings.CutPrefix(name, partitionPrefix)
	if !ok || len(s) != 8 {
		return time.Time{}, false
	}
	d, err := time.Parse("20060102", s)
	if err != nil {
		return time.Time{}, false
	}
	return d, true
}

func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
