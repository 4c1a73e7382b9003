package watermark

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/notify"
	"github.com/teslaops/tesla/internal/telemetry"
)

var (
	//go:embed sql/rollup_minutes.sql
	rollupMinutesSQL string
	//go:embed sql/rollup_hours.sql
	rollupHoursSQL string
	//go:embed sql/rollup_days.sql
	rollupDaysSQL string
)

// RollupConfig tunes Rollup. Zero fields take the defaults.
type RollupConfig struct {
	// BatchMinutes is how many dirty minutes one transaction claims and rolls up
	// (default 60): large enough to drain a backlog quickly, small enough that
	// one batch of a large fleet stays within memory and a few seconds.
	BatchMinutes int
	// MaxBatches bounds the batches of one run (default 30), so a run ends even
	// while writers keep marking the current minute; the rest waits for the next.
	MaxBatches int
	// MergeGap joins dirty minutes at most this far apart into one range read from
	// host_metric (default 5m): re-reading a clean minute is harmless (its levels
	// come out the same and are not rewritten) and one range scan is cheaper than
	// many. Sampling every 5 minutes (the demo's history) then costs one scan.
	MergeGap time.Duration
	// LockTimeout bounds the wait for in-flight writers when claiming (default 30s).
	LockTimeout time.Duration
	// WorkMem is the work_mem of the rollup transaction (default 256MB): the
	// per-host aggregation of a 100k-host minute needs ~80MB to stay in memory.
	WorkMem string
	// Now is the clock (default time.Now). Only complete minutes — those that
	// ended before Now — are claimed: the current minute is still filling, and
	// rolling it up twice would cost a rewrite and show a half-minute as "now".
	Now func() time.Time

	// afterClaim, when set (tests only), runs after the claim commits and before
	// the levels are computed: the window in which writers may re-mark a minute.
	afterClaim func(ctx context.Context)
}

func (c RollupConfig) withDefaults() RollupConfig {
	c.BatchMinutes = cmp.Or(c.BatchMinutes, 60)
	c.MaxBatches = cmp.Or(c.MaxBatches, 30)
	c.MergeGap = cmp.Or(c.MergeGap, 5*time.Minute)
	c.LockTimeout = cmp.Or(c.LockTimeout, 30*time.Second)
	c.WorkMem = cmp.Or(c.WorkMem, "256MB")
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// RollupResult counts what one rollup run did.
type RollupResult struct {
	// Minutes is the number of dirty minutes processed.
	Minutes int64
	// Batches is the number of transactions that processed them.
	Batches int
	// Levels is the number of 1-minute levels computed; Written and Removed
	// those that changed in watermark_1m (unchanged levels are not rewritten).
	Levels, Written, Removed int64
	// Hours and Days count the hourly and daily rows that changed (re-derived
	// with new values, or removed).
	Hours, Days int64
	// Clusters are the ids of the clusters whose levels changed (the platform,
	// PlatformID, included), in ascending order.
	Clusters []int64
}

// Rows is the number of level rows the run changed.
func (r RollupResult) Rows() int64 { return r.Written + r.Removed + r.Hours + r.Days }

// Rollup turns the minutes marked in rollup_dirty into water levels. It is
// incremental: each run reads only the raw samples of the dirty minutes, which
// covers new time and late corrections alike, and re-derives only the hours and
// days those minutes belong to.
//
// Claiming minutes without losing any: a short transaction claims a batch of
// dirty minutes (telemetry.ClaimDirtyMinutes, which waits for every writer that
// marked one to commit) and moves them into rollup_claim; the computation runs in
// a second transaction that deletes the claims with the levels it writes. A
// writer marking a minute after the claim makes it dirty again, so it is rolled
// up next time. Claims survive a failed or killed run and are processed first by
// the next one.
type Rollup struct {
	pool *pgxpool.Pool
	cfg  RollupConfig
}

// NewRollup returns a Rollup on pool.
func NewRollup(pool *pgxpool.Pool, cfg RollupConfig) *Rollup {
	return &Rollup{pool: pool, cfg: cfg.withDefaults()}
}

// RunOnce processes dirty minutes in batches until rollup_dirty is drained or
// MaxBatches is reached, then notifies ChannelWatermark once per changed cluster
// (the platform excepted: the pulse covers it) and ChannelPulse once. Each batch
// commits on its own, so a run that fails part-way keeps what it finished.
func (r *Rollup) RunOnce(ctx context.Context) (RollupResult, error) {
	var res RollupResult
	touched := map[int64]bool{}
	complete := r.cfg.Now().UTC().Truncate(time.Minute)
	var runErr error
	for range r.cfg.MaxBatches {
		claimed, err := r.claim(ctx, complete)
		if err != nil {
			runErr = err
			break
		}
		if r.cfg.afterClaim != nil {
			r.cfg.afterClaim(ctx)
		}
		b, err := r.process(ctx)
		if err != nil {
			runErr = err
			break
		}
		if b.minutes > 0 {
			res.Batches++
			res.Minutes += b.minutes
			res.Levels += b.levels
			res.Written += b.written
			res.Removed += b.removed
			res.Hours += b.hours
			res.Days += b.days
			for _, id := range b.clusters {
				touched[id] = true
			}
		}
		if claimed < int64(r.cfg.BatchMinutes) {
			break
		}
	}
	for id := range touched {
		res.Clusters = append(res.Clusters, id)
	}
	slices.Sort(res.Clusters)
	if len(res.Clusters) > 0 {
		// Committed batches changed levels even if a later one failed: tell
		// the screens either way.
		runErr = errors.Join(runErr, r.notify(ctx, res.Clusters))
	}
	return res, runErr
}

// claim moves up to BatchMinutes of the oldest dirty minutes before complete into
// rollup_claim (see telemetry.ClaimDirtyMinutes for why this is safe against
// writers committing meanwhile) and returns how many it moved.
func (r *Rollup) claim(ctx context.Context, complete time.Time) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		minutes, err := telemetry.ClaimDirtyMinutes(ctx, tx, complete, r.cfg.BatchMinutes, r.cfg.LockTimeout)
		if err != nil {
			return err
		}
		n = int64(len(minutes))
		if _, err := tx.Exec(ctx, `INSERT INTO rollup_claim (minute) SELECT unnest($1::timestamptz[]) ON CONFLICT DO NOTHING`, minutes); err != nil {
			return fmt.Errorf("error recording claimed minutes: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// batch is what one process transaction did.
type batch struct {
	minutes, levels, written, removed, hours, days int64
	clusters                                       []int64
}

// process rolls up every claimed minute in one transaction: the minutes from raw
// samples, then the hours those changed, then the days those changed, and
// deletes the claims with the levels it commits.
func (r *Rollup) process(ctx context.Context) (batch, error) {
	var b batch
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		b = batch{}
		// UTC makes date_trunc cut hours and days in UTC whatever the server's
		// zone; JIT compilation costs more than it saves on these statements.
		if _, err := tx.Exec(ctx, `SELECT set_config('timezone', 'UTC', true), set_config('work_mem', $1, true),
			set_config('jit', 'off', true)`, r.cfg.WorkMem); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT minute FROM rollup_claim ORDER BY minute FOR UPDATE`)
		if err != nil {
			return err
		}
		minutes, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
		if err != nil || len(minutes) == 0 {
			return err
		}
		b.minutes = int64(len(minutes))
		clusters := map[int64]bool{}
		hours := map[time.Time]bool{}
		for _, rg := range mergeRanges(minutes, r.cfg.MergeGap) {
			var levels, written, removed int64
			var changed []int64
			var changedHours []time.Time
			if err := tx.QueryRow(ctx, rollupMinutesSQL, rg.from, rg.to).
				Scan(&levels, &written, &removed, &changed, &changedHours); err != nil {
				return fmt.Errorf("minutes %s..%s: %w", rg.from.Format(time.RFC3339), rg.to.Format(time.RFC3339), err)
			}
			b.levels += levels
			b.written += written
			b.removed += removed
			for _, id := range changed {
				clusters[id] = true
			}
			for _, h := range changedHours {
				hours[h.UTC()] = true
			}
		}
		days := map[time.Time]bool{}
		if len(hours) > 0 {
			lo, hi, list := spanOf(hours, time.Hour)
			var changedDays []time.Time
			if err := tx.QueryRow(ctx, rollupHoursSQL, lo, hi, list).Scan(&b.hours, &changedDays); err != nil {
				return fmt.Errorf("hours: %w", err)
			}
			for _, d := range changedDays {
				days[d.UTC()] = true
			}
		}
		if len(days) > 0 {
			lo, hi, list := spanOf(days, day)
			if err := tx.QueryRow(ctx, rollupDaysSQL, lo, hi, list).Scan(&b.days); err != nil {
				return fmt.Errorf("days: %w", err)
			}
		}
		for id := range clusters {
			b.clusters = append(b.clusters, id)
		}
		// The hours of these minutes need their per-host sums derived again
		// (telemetry.RollupHostHours); marked here, with the claims' removal, so
		// no claimed minute's hour is lost.
		if err := telemetry.MarkHoursDirty(ctx, tx, minutes); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM rollup_claim WHERE minute = ANY ($1)`, minutes)
		return err
	})
	if err != nil {
		return batch{}, fmt.Errorf("error rolling up water levels: %w", err)
	}
	return b, nil
}

// spanOf returns the range [first, last+step) covering set, and set as a sorted
// list: the range lets the BRIN index on ts narrow the scan, the list keeps
// scattered steps from dragging in everything between them.
func spanOf(set map[time.Time]bool, step time.Duration) (time.Time, time.Time, []time.Time) {
	list := make([]time.Time, 0, len(set))
	for t := range set {
		list = append(list, t)
	}
	slices.SortFunc(list, func(a, b time.Time) int { return a.Compare(b) })
	return list[0], list[len(list)-1].Add(step), list
}

// timeRange is a half-open range of minutes [from, to).
type timeRange struct{ from, to time.Time }

// mergeRanges turns sorted minutes into ranges, joining minutes at most gap apart.
func mergeRanges(minutes []time.Time, gap time.Duration) []timeRange {
	var out []timeRange
	for _, m := range minutes {
		end := m.Add(time.Minute)
		if n := len(out); n > 0 && !m.After(out[n-1].to.Add(gap-time.Minute)) {
			if end.After(out[n-1].to) {
				out[n-1].to = end
			}
			continue
		}
		out = append(out, timeRange{from: m, to: end})
	}
	return out
}

// notify tells listeners which clusters changed, then sends one pulse, in one
// transaction so they arrive together.
func (r *Rollup) notify(ctx context.Context, clusters []int64) error {
	ids := make([]int64, 0, len(clusters))
	for _, id := range clusters {
		if id != PlatformID {
			ids = append(ids, id)
		}
	}
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if err := notify.NotifyIDs(ctx, tx, ChannelWatermark, ids); err != nil {
			return err
		}
		return notify.Notify(ctx, tx, ChannelPulse, r.cfg.Now().UTC().Format(time.RFC3339))
	})
	if err != nil {
		return fmt.Errorf("error notifying watermark listeners: %w", err)
	}
	return nil
}
