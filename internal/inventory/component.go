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

// PlacedComponent is a component an operation installs on a host.
type PlacedComponent struct {
	HostID    int64
	Service   string
	Component string
	Version   string
	// State is the actual state (STARTED, or FAILED when the install
	// failed); the desired state is STARTED.
	State string
}

// InstallComponents creates (or resets) host components in one statement: a
// service an upgrade adds to a host, or one its rollback puts back.
func InstallComponents(ctx context.Context, q db.DBTX, comps []PlacedComponent, at time.Time) (int64, error) {
	if len(comps) == 0 {
		return 0, nil
	}
	hosts := make([]int64, len(comps))
	services := make([]string, len(comps))
	names := make([]string, len(comps))
	versions := make([]string, len(comps))
	states := make([]string, len(comps))
	for i, c := range comps {
		hosts[i], services[i], names[i], versions[i], states[i] = c.HostID, c.Service, c.Component, c.Version, c.State
	}
	tag, err := q.Exec(ctx, `INSERT INTO host_component (host_id, service, component, desired_state, actual_state, version, updated_at)
		SELECT u.host_id, u.service, u.component, 'STARTED', u.state, u.version, $6
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[]) AS u(host_id, service, component, version, state)
		ON CONFLICT (host_id, service, component) DO UPDATE SET
			desired_state = 'STARTED', actual_state = EXCLUDED.actual_state, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
		hosts, services, names, versions, states, at)
	if err != nil {
		return 0, fmt.Errorf("error installing components: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RemoveServices deletes every component of services[i] on hosts[i], in one
// statement: services an upgrade removed from the stack.
func RemoveServices(ctx context.Context, q db.DBTX, hosts []int64, services []string) (int64, error) {
	if len(hosts) == 0 {
		return 0, nil
	}
	tag, err := q.Exec(ctx, `DELETE FROM host_component c USING unnest($1::bigint[], $2::text[]) AS u(host_id, service)
		WHERE c.host_id = u.host_id AND c.service = u.service`, hosts, services)
	if err != nil {
		return 0, fmt.Errorf("error removing services from hosts: %w", err)
	}
	return tag.RowsAffected(), nil
}
