package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/db"
)

// ComponentChange sets the state, and optionally the version, of every
// component of one service on one host: what an operation's host task did
// (a restart, an upgrade).
type ComponentChange struct {
	HostID  int64
	Service string
	// State is the new actual state (STARTED, STOPPED, INSTALLED, FAILED); the
	// desired state follows it unless it is FAILED.
	State string
	// Version, when not empty, is the new version.
	Version string
}

// ApplyComponentChanges writes a batch of component changes in one statement,
// in q (the transaction that records the tasks that made them, so the change
// and its record commit together). It returns the components changed.
func ApplyComponentChanges(ctx context.Context, q db.DBTX, changes []ComponentChange, at time.Time) (int64, error) {
	if len(changes) == 0 {
		return 0, nil
	}
	hosts := make([]int64, len(changes))
	services := make([]string, len(changes))
	states := make([]string, len(changes))
	versions := make([]string, len(changes))
	for i, c := range changes {
		hosts[i], services[i], states[i], versions[i] = c.HostID, c.Service, c.State, c.Version
	}
	tag, err := q.Exec(ctx, `UPDATE host_component c SET
			actual_state  = u.state,
			desired_state = CASE WHEN u.state = 'FAILED' THEN c.desired_state ELSE u.state END,
			version       = CASE WHEN u.version = '' THEN c.version ELSE u.version END,
			updated_at    = $5
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS u(host_id, service, state, version)
		WHERE c.host_id = u.host_id AND c.service = u.service`, hosts, services, states, versions, at)
	if err != nil {
		return 0, fmt.Errorf("error applying component changes: %w", err)
	}
	return tag.RowsAffected(), nil
}
