package telemetry

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// rollup_dirty is host_metric's change log: every write of samples marks the
// minutes it touched, in the same transaction, and the watermark rollup claims
// marked minutes and re-derives their levels. Both ends live here, next to the
// writes, because the claim is only correct given how writers mark (below).

// markDirty marks minutes (unix minutes, ascending, so concurrent writers take the
// keys in the same order and cannot deadlock on them) for the watermark rollup.
func markDirty(ctx context.Context, tx pgx.Tx, minutes []int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO rollup_dirty (minute)
		SELECT to_timestamp(m * 60) FROM unnest($1::bigint[]) m ON CONFLICT DO NOTHING`, minutes)
	return err
}

// MarkMinutesDirty marks the minutes of ts for the watermark rollup, in tx,
// for other sources of levels (queue snapshots feed QUEUE_SLOTS): they mark
// the way samples do, in the transaction of their write, so the claim below
// stays correct for them too.
func MarkMinutesDirty(ctx context.Context, tx pgx.Tx, ts []time.Time) error {
	set := map[int64]bool{}
	for _, t := range ts {
		set[t.Unix()/60] = true
	}
	minutes := make([]int64, 0, len(set))
	for m := range set {
		minutes = append(minutes, m)
	}
	slices.Sort(minutes)
	if err := markDirty(ctx, tx, minutes); err != nil {
		return fmt.Errorf("error marking minutes for the rollup: %w", err)
	}
	return nil
}

// ClaimDirtyMinutes removes up to limit of the oldest minutes marked before
// before and returns them, oldest first, for the caller to record in tx (the
// rollup moves them into its own claim table).
//
// Writers mark with INSERT … ON CONFLICT DO NOTHING in their samples'
// transaction. A minute already marked leaves no trace of a second writer, so
// reading the marks, computing and deleting them could lose that writer's
// samples if it commits after the reader's snapshot. But a writer holds ROW
// EXCLUSIVE on rollup_dirty from its mark until it commits, so the claim first
// takes SHARE ROW EXCLUSIVE: it waits for every writer that has marked a minute
// to commit, and holds back new marks for the few milliseconds the claim lasts.
// Every sample of a claimed minute marked before the claim is then committed and
// visible to whoever computes from it after tx commits; a writer marking later
// finds no row and inserts one, so the minute is dirty again. lockTimeout bounds
// the wait for writers; the claim fails when it passes.
func ClaimDirtyMinutes(ctx context.Context, tx pgx.Tx, before time.Time, limit int, lockTimeout time.Duration) ([]time.Time, error) {
	if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`,
		strconv.FormatInt(lockTimeout.Milliseconds(), 10)); err != nil {
		return nil, fmt.Errorf("error claiming dirty minutes: %w", err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE rollup_dirty IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return nil, fmt.Errorf("error claiming dirty minutes: %w", err)
	}
	rows, err := tx.Query(ctx, `DELETE FROM rollup_dirty
		WHERE minute IN (SELECT minute FROM rollup_dirty WHERE minute < $2 ORDER BY minute LIMIT $1)
		RETURNING minute`, limit, before)
	if err != nil {
		return nil, fmt.Errorf("error claiming dirty minutes: %w", err)
	}
	minutes, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, fmt.Errorf("error claiming dirty minutes: %w", err)
	}
	slices.SortFunc(minutes, time.Time.Compare)
	return minutes, nil
}
