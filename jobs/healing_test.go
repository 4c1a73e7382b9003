package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
)

// Keep-alive and healing run through the same path as `tesla jobs run`: with
// TESLA_OPERATIONS=simulated keep-alive restarts a stopped component and
// healing submits a SELF_HEAL for a silent host; with operations off both do
// nothing and say so.
func TestKeepAliveAndHealingJobs(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	cl := fixture.Bulk(t, pool, 1, 10)[0]
	var stopped, silent int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT min(id), max(id) FROM host WHERE cluster_id = $1 AND state = 'ONLINE'`, cl).Scan(&stopped, &silent))
	_, err := pool.Exec(ctx, `UPDATE host_component SET actual_state = 'STOPPED' WHERE host_id = $1`, stopped)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET last_heartbeat = now() - interval '1 hour' WHERE id = $1`, silent)
	require.NoError(t, err)

	off := Default(pool, DefaultConfig{})
	for _, name := range []string{NameKeepAlive, NameHealing} {
		j, err := Find(off, name)
		require.NoError(t, err)
		res, err := Run(ctx, pool, quietLogger(), "test", j)
		require.NoError(t, err)
		require.Equal(t, true, res.Details["off"], name)
	}

	set := Default(pool, DefaultConfig{Operations: "simulated"})
	ka, err := Find(set, NameKeepAlive)
	require.NoError(t, err)
	require.Equal(t, time.Minute, ka.Interval())
	res, err := Run(ctx, pool, quietLogger(), "test", ka)
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Rows)
	require.EqualValues(t, 1, res.Details["restarted"])
	var state string
	require.NoError(t, pool.QueryRow(ctx, `SELECT actual_state FROM host_component WHERE host_id = $1`, stopped).Scan(&state))
	require.Equal(t, "STARTED", state)

	heal, err := Find(set, NameHealing)
	require.NoError(t, err)
	require.Equal(t, 5*time.Minute, heal.Interval())
	res, err = Run(ctx, pool, quietLogger(), "test", heal)
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Rows)
	require.EqualValues(t, 1, res.Details["operations"])
	var kind, by string
	require.NoError(t, pool.QueryRow(ctx, `SELECT kind, requested_by FROM operation WHERE cluster_id = $1`, cl).Scan(&kind, &by))
	require.Equal(t, "SELF_HEAL", kind)
	require.Equal(t, "system:healing", by)
}
