package inventory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// ReleaseHostsAs ends operation op's hold on hosts, leaving them in state
// (ONLINE, DEGRADED) with reason: a self-heal returns the hosts it could not
// heal to their cluster DEGRADED, not ONLINE, so they are seen as unwell and
// another operation may hold them. Hosts op does not hold are left alone.
func ReleaseHostsAs(ctx context.Context, q db.DBTX, op int64, ids []int64, state, reason string) (int64, error) {
	if state != "ONLINE" && state != "DEGRADED" {
		return 0, fmt.Errorf("error releasing hosts of operation %d: hosts are released ONLINE or DEGRADED, not %s", op, state)
	}
	tag, err := q.Exec(ctx, `UPDATE host SET state = $3, state_reason = $4, held_by_operation = NULL
		WHERE id = ANY($2) AND held_by_operation = $1`, op, ids, state, reason)
	if err != nil {
		return 0, fmt.Errorf("error releasing hosts of operation %d: %w", op, err)
	}
	return tag.RowsAffected(), announceHostStates(ctx, q, ids)
}

// TakeHostsOut moves hosts out of service for repair (REPAIRING, with reason)
// on the platform's own decision: a host self-healing handed to a person.
// Hosts in MAINTENANCE (an operator's, or held by an operation), already
// REPAIRING or DECOMMISSIONED are left alone. The caller audits. It returns
// the hosts moved.
func TakeHostsOut(ctx context.Context, q db.DBTX, ids []int64, reason string) ([]int64, error) {
	rows, err := q.Query(ctx, `UPDATE host SET state = 'REPAIRING', state_reason = $2
		WHERE id = ANY($1) AND state IN ('ONLINE', 'DEGRADED', 'OFFLINE') AND held_by_operation IS NULL RETURNING id`, ids, reason)
	if err != nil {
		return nil, fmt.Errorf("error taking hosts out of service: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("error taking hosts out of service: %w", err)
	}
	return out, announceHostStates(ctx, q, out)
}
