package yarn

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// Target statuses as stored in yarn_target.status.
const (
	statusPending = "PENDING"
	statusUp      = "UP"
	statusFailing = "FAILING"
)

// target is a claimed yarn_target row.
type target struct {
	clusterID int64
	cluster   string
	url       string
	status    string
	failures  int
	watermark *time.Time
	claimedAt time.Time // the claim's last_attempt_at: proof the target is still ours
}

// claimDueSQL takes every due target and pushes its next_attempt_at out by the
// lease, so another replica's pass skips it (SKIP LOCKED covers the moment of
// the claim, the lease the poll itself); the outcome sets the real next
// attempt. A replica that dies mid-pass leaves its targets due again when the
// lease runs out.
const claimDueSQL = `
UPDATE yarn_target t SET last_attempt_at = $1, next_attempt_at = $2
FROM (SELECT cluster_id FROM yarn_target WHERE next_attempt_at <= $1
      ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED) due, cluster c
WHERE t.cluster_id = due.cluster_id AND c.id = t.cluster_id
RETURNING t.cluster_id, c.name, t.url, t.status, t.failures, t.finished_watermark`

func claimDue(ctx context.Context, q db.DBTX, now time.Time, lease time.Duration) ([]target, error) {
	rows, err := q.Query(ctx, claimDueSQL, now, now.Add(lease))
	if err != nil {
		return nil, fmt.Errorf("error claiming yarn targets: %w", err)
	}
	targets, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (target, error) {
		t := target{claimedAt: now}
		err := row.Scan(&t.clusterID, &t.cluster, &t.url, &t.status, &t.failures, &t.watermark)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("error claiming yarn targets: %w", err)
	}
	return targets, nil
}

// The outcome statements apply only while the target is still the one claimed:
// same URL (a URL changed mid-poll belongs to another ResourceManager) and same
// last_attempt_at (a pass that outlived its lease may have seen the target
// re-claimed, whose newer result must win). The watermark only moves forward.
const (
	recordSuccessSQL = `
UPDATE yarn_target SET status = 'UP', failures = 0, last_success_at = $4, last_error = $5,
    next_attempt_at = $6, metrics = $7,
    finished_watermark = CASE WHEN $8::timestamptz IS NULL THEN finished_watermark
                              ELSE greatest(finished_watermark, $8::timestamptz) END,
    updated_at = now()
WHERE cluster_id = $1 AND url = $2 AND last_attempt_at = $3`
	recordFailureSQL = `
UPDATE yarn_target SET status = 'FAILING', failures = failures + 1, last_error = $4, next_attempt_at = $5,
    updated_at = now()
WHERE cluster_id = $1 AND url = $2 AND last_attempt_at = $3`
)

func recordSuccess(ctx context.Context, q db.DBTX, t target, at, next time.Time, note string, metrics json.RawMessage, watermark *time.Time) error {
	if _, err := q.Exec(ctx, recordSuccessSQL, t.clusterID, t.url, t.claimedAt, at, clip(note, 500), next, metrics, watermark); err != nil {
		return fmt.Errorf("error recording yarn poll of cluster %s: %w", t.cluster, err)
	}
	return nil
}

// recordFailures stores the failed targets' new state in one round trip.
func recordFailures(ctx context.Context, q db.DBTX, outcomes []*outcome) error {
	var b pgx.Batch
	for _, o := range outcomes {
		if o.err == nil {
			continue
		}
		b.Queue(recordFailureSQL, o.target.clusterID, o.target.url, o.target.claimedAt, clip(o.err.Error(), 500), o.next)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := q.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("error recording yarn poll failures: %w", err)
	}
	return nil
}

func nextDue(ctx context.Context, q db.DBTX) (time.Time, error) {
	var next *time.Time
	if err := q.QueryRow(ctx, `SELECT min(next_attempt_at) FROM yarn_target`).Scan(&next); err != nil {
		return time.Time{}, fmt.Errorf("error loading next yarn poll time: %w", err)
	}
	if next == nil {
		return time.Time{}, nil
	}
	return *next, nil
}
