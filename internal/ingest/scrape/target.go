package scrape

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/inventory"
)

// Target statuses as stored in scrape_target.status.
const (
	statusPending = "PENDING"
	statusUp      = "UP"
	statusFailing = "FAILING"
)

// target is a claimed scrape_target row.
type target struct {
	hostID     int64
	url        string
	status     string
	failures   int
	counters   *counters
	countersAt *time.Time
	claimedAt  time.Time // the claim's last_attempt_at: proof the target is still ours
}

type syncResult struct {
	targets, added, changed, removed int
}

// syncTargetsSQL makes scrape_target follow host.scrape_url. A new URL becomes a
// PENDING target due at once; a changed URL points at another exporter, whose
// counters have nothing to do with the old ones, so the state starts over.
// Decommissioned hosts are not scraped: their exporter is gone for good and would
// only sit at maximum back-off forever.
const syncTargetsSQL = `
INSERT INTO scrape_target (host_id, url, next_attempt_at)
SELECT id, scrape_url, $1 FROM host
WHERE scrape_url IS NOT NULL AND scrape_url <> '' AND state <> 'DECOMMISSIONED'
ON CONFLICT (host_id) DO UPDATE SET
    url = EXCLUDED.url, status = 'PENDING', failures = 0, last_attempt_at = NULL,
    last_success_at = NULL, last_error = '', next_attempt_at = EXCLUDED.next_attempt_at,
    counters = NULL, counters_at = NULL
WHERE scrape_target.url IS DISTINCT FROM EXCLUDED.url
RETURNING (xmax = 0) AS inserted`

const removeTargetsSQL = `
DELETE FROM scrape_target t USING host h
WHERE h.id = t.host_id AND (h.scrape_url IS NULL OR h.scrape_url = '' OR h.state = 'DECOMMISSIONED')`

// syncTargets runs the sync statements. Each is a single idempotent statement,
// so replicas syncing at the same time do no harm.
func syncTargets(ctx context.Context, pool *pgxpool.Pool, now time.Time) (syncResult, error) {
	var res syncResult
	rows, err := pool.Query(ctx, syncTargetsSQL, now)
	if err != nil {
		return res, fmt.Errorf("error syncing scrape targets: %w", err)
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[bool])
	if err != nil {
		return res, fmt.Errorf("error syncing scrape targets: %w", err)
	}
	for _, ins := range inserted {
		if ins {
			res.added++
		} else {
			res.changed++
		}
	}
	tag, err := pool.Exec(ctx, removeTargetsSQL)
	if err != nil {
		return res, fmt.Errorf("error syncing scrape targets: %w", err)
	}
	res.removed = int(tag.RowsAffected())
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM scrape_target`).Scan(&res.targets); err != nil {
		return res, fmt.Errorf("error syncing scrape targets: %w", err)
	}
	return res, nil
}

// claimDueSQL takes every due target and pushes its next_attempt_at out by the
// lease, so another replica's pass skips it (SKIP LOCKED covers the moment of
// the claim, the lease the scrape itself). recordOutcomes then sets the real
// next attempt. A replica that dies mid-pass leaves its targets due again when
// the lease runs out.
const claimDueSQL = `
UPDATE scrape_target t SET last_attempt_at = $1, next_attempt_at = $2
FROM (SELECT host_id FROM scrape_target WHERE next_attempt_at <= $1
      ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED) due
WHERE t.host_id = due.host_id
RETURNING t.host_id, t.url, t.status, t.failures, t.counters, t.counters_at`

func claimDue(ctx context.Context, pool *pgxpool.Pool, now time.Time, lease time.Duration) ([]target, error) {
	rows, err := pool.Query(ctx, claimDueSQL, now, now.Add(lease))
	if err != nil {
		return nil, fmt.Errorf("error claiming scrape targets: %w", err)
	}
	targets, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (target, error) {
		var t target
		var raw []byte
		if err := row.Scan(&t.hostID, &t.url, &t.status, &t.failures, &raw, &t.countersAt); err != nil {
			return t, err
		}
		t.claimedAt = now
		if raw != nil {
			var c counters
			// Unreadable stored counters (an older format) only cost one rate.
			if json.Unmarshal(raw, &c) == nil {
				t.counters = &c
			}
		}
		return t, nil
	})
	if err != nil {
		return nil, fmt.Errorf("error claiming scrape targets: %w", err)
	}
	return targets, nil
}

// The outcome statements apply only while the target is still the one claimed:
// same URL (a URL changed mid-scrape was reset by the sync, and this result
// belongs to the old exporter) and same last_attempt_at (a pass that outlived its
// lease may have seen the target re-claimed by another replica, whose newer
// result must win). A dropped outcome costs at most one rate.
const (
	recordSuccessSQL = `
UPDATE scrape_target SET status = 'UP', failures = 0, last_success_at = $4, last_error = '',
    next_attempt_at = $5, counters = $6, counters_at = $4
WHERE host_id = $1 AND url = $2 AND last_attempt_at = $3`
	recordFailureSQL = `
UPDATE scrape_target SET status = 'FAILING', failures = failures + 1, last_error = $4, next_attempt_at = $5
WHERE host_id = $1 AND url = $2 AND last_attempt_at = $3`
)

// recordOutcomes stores every target's new state in one round trip, then moves
// the heartbeats of the hosts scraped successfully (through inventory, which owns
// the host table).
func recordOutcomes(ctx context.Context, pool *pgxpool.Pool, outcomes []outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	var b pgx.Batch
	var beats []int64
	var beatAt []time.Time
	for _, o := range outcomes {
		t := o.target
		if o.err != nil {
			b.Queue(recordFailureSQL, t.hostID, t.url, t.claimedAt, clip(o.err.Error(), 200), o.next)
			continue
		}
		raw, err := json.Marshal(o.counters)
		if err != nil {
			return fmt.Errorf("error recording scrape outcomes: %w", err)
		}
		b.Queue(recordSuccessSQL, t.hostID, t.url, t.claimedAt, o.at, o.next, raw)
		beats, beatAt = append(beats, t.hostID), append(beatAt, o.at)
	}
	if err := pool.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("error recording scrape outcomes: %w", err)
	}
	_, err := inventory.RecordHeartbeats(ctx, pool, beats, beatAt)
	return err
}

// nextDue is the earliest time any target is due.
func nextDue(ctx context.Context, pool *pgxpool.Pool) (time.Time, error) {
	var next *time.Time
	if err := pool.QueryRow(ctx, `SELECT min(next_attempt_at) FROM scrape_target`).Scan(&next); err != nil {
		return time.Time{}, fmt.Errorf("error loading next scrape time: %w", err)
	}
	if next == nil {
		return time.Time{}, nil
	}
	return *next, nil
}
