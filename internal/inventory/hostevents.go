package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/inventory/dbsqlc"
)

// The writes here come from the platform itself — collectors, importers, the demo
// simulator — not from a person, so they take no principal and are not audited;
// they live here because inventory owns the host and host_component tables and
// every write to them.

// RecordHeartbeats moves each host's last heartbeat (ids[i]) up to at[i]. A
// heartbeat never moves back: a late or replayed report leaves a newer one alone.
// It returns how many hosts' heartbeats moved.
func RecordHeartbeats(ctx context.Context, dbtx db.DBTX, ids []int64, at []time.Time) (int64, error) {
	if len(ids) != len(at) {
		return 0, fmt.Errorf("error recording heartbeats: %d hosts but %d times", len(ids), len(at))
	}
	if len(ids) == 0 {
		return 0, nil
	}
	n, err := queries.HostsRecordHeartbeats(ctx, dbtx, &dbsqlc.HostsRecordHeartbeatsParams{Ids: ids, At: at})
	if err != nil {
		return 0, fmt.Errorf("error recording heartbeats: %w", err)
	}
	return n, nil
}

// RecordHeartbeatsAt moves the heartbeat of each of ids up to at, in one
// statement however many hosts beat: the simulator's tick beats every reporting
// host of the fleet at the same instant, and at 250,000 hosts sending one time
// per host (RecordHeartbeats) and grouping them costs more than the update. A
// heartbeat never moves back. It returns how many hosts' heartbeats moved.
func RecordHeartbeatsAt(ctx context.Context, dbtx db.DBTX, ids []int64, at time.Time) (int64, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	tag, err := dbtx.Exec(ctx, `UPDATE host h SET last_heartbeat = $2
		FROM unnest($1::bigint[]) AS u (id)
		WHERE h.id = u.id AND (h.last_heartbeat IS NULL OR h.last_heartbeat < $2)`, ids, at)
	if err != nil {
		return 0, fmt.Errorf("error recording heartbeats: %w", err)
	}
	return tag.RowsAffected(), nil
}

// TransitionHostState moves a host from state from to state to with reason, and
// announces it on HostStateChannel in the same transaction. It reports false,
// changing nothing, when the host is no longer in from (something else — an
// operator, the self-healing loop — changed it meanwhile).
func TransitionHostState(ctx context.Context, dbtx db.DBTX, id int64, from, to, reason string) (bool, error) {
	notified, err := queries.HostTransitionState(ctx, dbtx, &dbsqlc.HostTransitionStateParams{
		ID: id, FromState: from, ToState: to, Reason: reason, Channel: HostStateChannel})
	if err != nil {
		return false, fmt.Errorf("error changing state of host %d: %w", id, err)
	}
	return notified > 0, nil
}

// FailOneComponent marks one STARTED component of a host FAILED at at: the way a
// host's trouble shows, in a worker component (DATANODE, NODEMANAGER,
// TASKMANAGER, REGIONSERVER) when the host runs one.
func FailOneComponent(ctx context.Context, dbtx db.DBTX, hostID int64, at time.Time) error {
	if err := queries.ComponentFailOne(ctx, dbtx, &dbsqlc.ComponentFailOneParams{HostID: hostID, At: at}); err != nil {
		return fmt.Errorf("error failing a component of host %d: %w", hostID, err)
	}
	return nil
}

// StartComponents brings every component of a host that should run (all but
// those meant to stay INSTALLED) back to STARTED at at, as a healed host does.
func StartComponents(ctx context.Context, dbtx db.DBTX, hostID int64, at time.Time) error {
	if err := queries.ComponentsStart(ctx, dbtx, &dbsqlc.ComponentsStartParams{HostID: hostID, At: at}); err != nil {
		return fmt.Errorf("error starting the components of host %d: %w", hostID, err)
	}
	return nil
}
