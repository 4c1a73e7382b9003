package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/db"
)

// ComponentState is the actual state one component of one host is in.
type ComponentState struct {
	HostID    int64
	Service   string
	Component string
	State     string
}

// SetComponentActualStates records actual states of single components in one
// statement, leaving their desired states alone: what a keep-alive restart of
// the simulated fleet did (the agents report real states through heartbeats,
// AgentBeat). It returns the components changed.
func SetComponentActualStates(ctx context.Context, q db.DBTX, states []ComponentState, at time.Time) (int64, error) {
	if len(states) == 0 {
		return 0, nil
	}
	hosts := make([]int64, len(states))
	services, components, values := make([]string, len(states)), make([]string, len(states)), make([]string, len(states))
	for i, s := range states {
		hosts[i], services[i], components[i], values[i] = s.HostID, s.Service, s.Component, s.State
	}
	tag, err := q.Exec(ctx, `UPDATE host_component c SET actual_state = u.state, updated_at = $5
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS u (host_id, service, component, state)
		WHERE c.host_id = u.host_id AND c.service = u.service AND c.component = u.component AND c.actual_state <> u.state`,
		hosts, services, components, values, at)
	if err != nil {
		return 0, fmt.Errorf("error recording component states: %w", err)
	}
	return tag.RowsAffected(), nil
}

// StartDesiredComponents records every component of hosts that is desired
// STARTED as running: what a host's repair (its services restarted, or the
// machine rebooted) brought back, in the transaction that records the repair.
func StartDesiredComponents(ctx context.Context, q db.DBTX, ids []int64, at time.Time) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE host_component SET actual_state = 'STARTED', updated_at = $2
		WHERE host_id = ANY($1) AND desired_state = 'STARTED' AND actual_state <> 'STARTED'`, ids, at)
	if err != nil {
		return 0, fmt.Errorf("error starting components: %w", err)
	}
	return tag.RowsAffected(), nil
}
