package inventory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/inventory"
)

func TestRecordHeartbeatsNeverMovesBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	a, b := f.Hosts["online-1-n01"], f.Hosts["online-1-n02"]
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	heartbeat := func(id int64) time.Time {
		var at time.Time
		require.NoError(t, pool.QueryRow(ctx, `SELECT last_heartbeat FROM host WHERE id = $1`, id).Scan(&at))
		return at.UTC()
	}

	// Host a twice in one call: the later time wins.
	n, err := inventory.RecordHeartbeats(ctx, pool, []int64{a, a, b}, []time.Time{t0.Add(time.Minute), t0, t0})
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	require.Equal(t, t0.Add(time.Minute), heartbeat(a))
	require.Equal(t, t0, heartbeat(b))

	// An older report moves nothing.
	n, err = inventory.RecordHeartbeats(ctx, pool, []int64{a}, []time.Time{t0})
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, t0.Add(time.Minute), heartbeat(a))

	_, err = inventory.RecordHeartbeats(ctx, pool, []int64{a}, nil)
	require.ErrorContains(t, err, "1 hosts but 0 times")
}

func TestRecordHeartbeatsAtMovesManyHostsForwardOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	a, b := f.Hosts["online-1-n01"], f.Hosts["online-1-n02"]
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	heartbeat := func(id int64) time.Time {
		var at time.Time
		require.NoError(t, pool.QueryRow(ctx, `SELECT last_heartbeat FROM host WHERE id = $1`, id).Scan(&at))
		return at.UTC()
	}

	n, err := inventory.RecordHeartbeatsAt(ctx, pool, []int64{a}, t0.Add(time.Minute))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	// b moves, a (already newer) does not.
	n, err = inventory.RecordHeartbeatsAt(ctx, pool, []int64{a, b}, t0)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.Equal(t, t0.Add(time.Minute), heartbeat(a))
	require.Equal(t, t0, heartbeat(b))

	n, err = inventory.RecordHeartbeatsAt(ctx, pool, nil, t0)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestTransitionHostStateIsGuardedAndAnnounced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	id := f.Hosts["online-1-n01"]

	listener, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer listener.Release()
	_, err = listener.Exec(ctx, `LISTEN `+pgx.Identifier{inventory.HostStateChannel}.Sanitize())
	require.NoError(t, err)

	// Not in the expected state: nothing changes.
	changed, err := inventory.TransitionHostState(ctx, pool, id, "DEGRADED", "ONLINE", "")
	require.NoError(t, err)
	require.False(t, changed)

	changed, err = inventory.TransitionHostState(ctx, pool, id, "ONLINE", "DEGRADED", "disk errors")
	require.NoError(t, err)
	require.True(t, changed)
	var state, reason string
	require.NoError(t, pool.QueryRow(ctx, `SELECT state, state_reason FROM host WHERE id = $1`, id).Scan(&state, &reason))
	require.Equal(t, "DEGRADED", state)
	require.Equal(t, "disk errors", reason)

	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	note, err := listener.Conn().WaitForNotification(waitCtx)
	require.NoError(t, err)
	require.Equal(t, inventory.HostStateChannel, note.Channel)
	require.Equal(t, fmt.Sprint(id), note.Payload)
}

func TestFailOneComponentPrefersAWorkerAndStartComponentsHeals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	id := f.Hosts["online-1-n01"] // HDFS DATANODE and YARN NODEMANAGER, both STARTED
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	states := func() map[string]string {
		rows, err := pool.Query(ctx, `SELECT component, desired_state || '/' || actual_state FROM host_component WHERE host_id = $1`, id)
		require.NoError(t, err)
		out := map[string]string{}
		var c, s string
		_, err = pgx.ForEachRow(rows, []any{&c, &s}, func() error { out[c] = s; return nil })
		require.NoError(t, err)
		return out
	}

	require.NoError(t, inventory.FailOneComponent(ctx, pool, id, at))
	require.Equal(t, map[string]string{"DATANODE": "STARTED/FAILED", "NODEMANAGER": "STARTED/STARTED"}, states())
	require.NoError(t, inventory.StartComponents(ctx, pool, id, at))
	require.Equal(t, map[string]string{"DATANODE": "STARTED/STARTED", "NODEMANAGER": "STARTED/STARTED"}, states())
}
