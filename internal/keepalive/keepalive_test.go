package keepalive_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/keepalive"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func viewerCtx() context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Login: "viewer", Role: auth.Viewer, Method: auth.MethodToken})
}

// hosts returns the cluster's hosts by state, in hostname order.
func hosts(t *testing.T, pool *pgxpool.Pool, cluster int64) map[string][]int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT id, state FROM host WHERE cluster_id = $1 ORDER BY hostname`, cluster)
	require.NoError(t, err)
	out := map[string][]int64{}
	var id int64
	var state string
	_, err = pgx.ForEachRow(rows, []any{&id, &state}, func() error {
		out[state] = append(out[state], id)
		return nil
	})
	require.NoError(t, err)
	return out
}

func setComponent(t *testing.T, pool *pgxpool.Pool, host int64, desired, actual string) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `UPDATE host_component SET desired_state = $2, actual_state = $3 WHERE host_id = $1`, host, desired, actual)
	require.NoError(t, err)
}

func actual(t *testing.T, pool *pgxpool.Pool, host int64) string {
	t.Helper()
	var s string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT actual_state FROM host_component WHERE host_id = $1`, host).Scan(&s))
	return s
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// A component the agent reports stopped while it should run is restarted and
// the restart recorded with its reason; components of hosts in MAINTENANCE,
// of hosts an operation holds, and components not desired STARTED are left
// alone, and so are those of a host an operation's task is running on.
func TestStoppedComponentIsRestartedAndRecorded(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	cl := fixture.Bulk(t, pool, 1, 10)[0]
	hs := hosts(t, pool, cl)
	stopped, wanted, held, maint := hs["ONLINE"][0], hs["ONLINE"][1], hs["ONLINE"][2], hs["MAINTENANCE"][0]
	degraded, busy := hs["DEGRADED"][0], hs["ONLINE"][3]
	setComponent(t, pool, stopped, "STARTED", "STOPPED")
	setComponent(t, pool, degraded, "STARTED", "FAILED")
	setComponent(t, pool, wanted, "STOPPED", "STOPPED")
	setComponent(t, pool, held, "STARTED", "STOPPED")
	setComponent(t, pool, maint, "STARTED", "STOPPED")
	setComponent(t, pool, busy, "STARTED", "STOPPED")
	_, err := pool.Exec(ctx, `UPDATE host SET held_by_operation = 99 WHERE id = $1`, held)
	require.NoError(t, err)
	// A RESTART running on busy stops and starts its services on purpose.
	_, err = pool.Exec(ctx, `WITH o AS (INSERT INTO operation (kind, cluster_id, state, requested_by) VALUES ('RESTART', $1, 'RUNNING', 'ops') RETURNING id),
		s AS (INSERT INTO operation_stage (operation_id, position, name, state) SELECT id, 1, 'batch 1', 'RUNNING' FROM o RETURNING id, operation_id)
		INSERT INTO operation_task (operation_id, stage_id, host_id, action, state) SELECT operation_id, id, $2, 'RESTART', 'RUNNING' FROM s`, cl, busy)
	require.NoError(t, err)

	clk := &clock{t: time.Now()}
	loop := keepalive.NewLoop(pool, keepalive.SimulatedRestarter{Now: clk.Now}, keepalive.Config{Now: clk.Now}, nil)
	res, err := loop.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, keepalive.Result{Drifting: 2, Restarted: 2}, res)
	require.Equal(t, "STARTED", actual(t, pool, stopped))
	require.Equal(t, "STARTED", actual(t, pool, degraded))
	require.Equal(t, "STOPPED", actual(t, pool, wanted))
	require.Equal(t, "STOPPED", actual(t, pool, held))
	require.Equal(t, "STOPPED", actual(t, pool, maint))
	require.Equal(t, "STOPPED", actual(t, pool, busy), "left to the operation running on it")

	got, err := keepalive.NewService(pool).RestartsOfHosts(viewerCtx(), []int64{stopped, degraded, held}, 10)
	require.NoError(t, err)
	require.Len(t, got[stopped], 1)
	require.Len(t, got[degraded], 1)
	require.Empty(t, got[held])
	r := got[stopped][0]
	require.Equal(t, "YARN", r.Service)
	require.Equal(t, "NODEMANAGER", r.Component)
	require.Equal(t, keepalive.OutcomeSucceeded, r.Outcome)
	require.Equal(t, "YARN NODEMANAGER was STOPPED (desired STARTED): restart 1 of 3 in 1h0m0s", r.Reason)
	require.Contains(t, got[degraded][0].Reason, "was FAILED")

	// Nothing left to do: a second pass restarts nothing.
	res, err = loop.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Restarted)
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM component_restart`))

	_, err = keepalive.NewService(pool).RestartsOfHosts(context.Background(), []int64{stopped}, 10)
	require.Error(t, err, "reading needs a signed-in caller")
}

// A component that keeps stopping is restarted up to its budget, then left
// alone with exactly one alert, announced on the alert channel; once its
// oldest restarts leave the window it is restarted again, and the alert
// resolves when it runs.
func TestFlappingComponentStopsAtBudgetWithOneAlert(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	cl := fixture.Bulk(t, pool, 1, 5)[0]
	host := hosts(t, pool, cl)["ONLINE"][0]

	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "LISTEN "+keepalive.ChannelAlert)
	require.NoError(t, err)

	clk := &clock{t: time.Now()}
	loop := keepalive.NewLoop(pool, keepalive.SimulatedRestarter{Now: clk.Now},
		keepalive.Config{Budget: 3, Window: time.Hour, Settle: time.Minute, Now: clk.Now}, nil)
	for i := range 3 {
		setComponent(t, pool, host, "STARTED", "FAILED")
		res, err := loop.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, res.Restarted, "pass %d", i+1)
		require.Equal(t, "STARTED", actual(t, pool, host))
		clk.add(2 * time.Minute)
	}
	for i := range 3 {
		setComponent(t, pool, host, "STARTED", "FAILED")
		res, err := loop.RunOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, res.Restarted, "over budget: no restart (pass %d)", i+4)
		require.Equal(t, 1, res.OverBudget)
		require.Equal(t, map[bool]int{true: 1, false: 0}[i == 0], res.Alerts, "one alert, on the first pass over budget")
		require.Equal(t, "FAILED", actual(t, pool, host))
		clk.add(2 * time.Minute)
	}
	require.Equal(t, 3, count(t, pool, `SELECT count(*) FROM component_restart WHERE host_id = $1`, host))
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM keepalive_alert WHERE host_id = $1`, host))

	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(waitCtx)
	require.NoError(t, err)
	alerts, err := keepalive.NewService(pool).Alerts(viewerCtx(), keepalive.AlertFilter{Hosts: []int64{host}, OpenOnly: true, Limit: 10})
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.Equal(t, n.Payload, itoa(alerts[0].ID))
	require.Equal(t, 3, alerts[0].Restarts)
	require.Contains(t, alerts[0].Message, "FAILED after 3 restarts in 1h0m0s: keep-alive stopped restarting it")

	// The first restart leaves the window: the budget has room again.
	clk.add(time.Hour - 11*time.Minute)
	res, err := loop.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Restarted, "window expiry resets the budget")
	require.Equal(t, 1, res.Resolved, "the component runs again: its alert resolves")
	require.Equal(t, "STARTED", actual(t, pool, host))
	alerts, err = keepalive.NewService(pool).Alerts(viewerCtx(), keepalive.AlertFilter{Hosts: []int64{host}, OpenOnly: true, Limit: 10})
	require.NoError(t, err)
	require.Empty(t, alerts)
}

// A restart that fails is recorded FAILED and spends the budget like any
// other: a component that cannot be restarted ends in an alert too.
func TestFailedRestartsSpendTheBudget(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	cl := fixture.Bulk(t, pool, 1, 5)[0]
	host := hosts(t, pool, cl)["ONLINE"][0]
	setComponent(t, pool, host, "STARTED", "STOPPED")
	clk := &clock{t: time.Now()}
	loop := keepalive.NewLoop(pool, keepalive.SimulatedRestarter{Fail: func(keepalive.Restart) bool { return true }},
		keepalive.Config{Budget: 2, Now: clk.Now}, nil)
	var alerts int
	for range 4 {
		res, err := loop.RunOnce(ctx)
		require.NoError(t, err)
		alerts += res.Alerts
		clk.add(5 * time.Minute)
	}
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM component_restart WHERE outcome = 'FAILED'`))
	require.Equal(t, 1, alerts)
	require.Equal(t, "STOPPED", actual(t, pool, host))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// keyRecorder records the keys it is asked and fails while fail is set.
type keyRecorder struct {
	keys []string
	fail bool
}

func (k *keyRecorder) Restart(_ context.Context, _ pgx.Tx, rs []keepalive.Restart) ([]keepalive.Outcome, error) {
	out := make([]keepalive.Outcome, len(rs))
	for i, r := range rs {
		k.keys = append(k.keys, r.Key)
		out[i] = keepalive.Outcome{Outcome: keepalive.OutcomeDispatched}
	}
	if k.fail {
		return nil, context.DeadlineExceeded
	}
	return out, nil
}

// A pass that fails after the restarter acted records nothing, and the next
// pass asks for the same restart with the same key (an idempotent restarter
// returns what it did the first time); once a restart is recorded the next
// one has a new key.
func TestRestartKeyIsStableUntilRecorded(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	cl := fixture.Bulk(t, pool, 1, 5)[0]
	host := hosts(t, pool, cl)["ONLINE"][0]
	setComponent(t, pool, host, "STARTED", "STOPPED")
	clk := &clock{t: time.Now()}
	rec := &keyRecorder{fail: true}
	loop := keepalive.NewLoop(pool, rec, keepalive.Config{Now: clk.Now}, nil)
	_, err := loop.RunOnce(ctx)
	require.Error(t, err)
	require.Zero(t, count(t, pool, `SELECT count(*) FROM component_restart`))
	rec.fail = false
	_, err = loop.RunOnce(ctx)
	require.NoError(t, err)
	clk.add(5 * time.Minute)
	_, err = loop.RunOnce(ctx)
	require.NoError(t, err)
	require.Len(t, rec.keys, 3)
	require.Equal(t, rec.keys[0], rec.keys[1])
	require.NotEqual(t, rec.keys[1], rec.keys[2])
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM component_restart WHERE outcome = 'DISPATCHED'`))
}

// Restarts older than Keep and alerts resolved before it are deleted by the
// passes; an alert raised long ago but resolved only now is kept.
func TestOldRestartsAndResolvedAlertsExpire(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	cl := fixture.Bulk(t, pool, 1, 5)[0]
	host := hosts(t, pool, cl)["ONLINE"][0]
	_, err := pool.Exec(ctx, `INSERT INTO component_restart (host_id, service, component, at, reason, outcome)
		VALUES ($1, 'YARN', 'NODEMANAGER', now() - interval '40 days', 'old', 'SUCCEEDED'),
		       ($1, 'YARN', 'NODEMANAGER', now() - interval '2 days', 'recent', 'SUCCEEDED')`, host)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO keepalive_alert (host_id, cluster_id, service, component, raised_at, restarts, window_seconds, message, resolved_at)
		VALUES ($1, $2, 'YARN', 'NODEMANAGER', now() - interval '40 days', 3, 3600, 'old', now() - interval '39 days'),
		       ($1, $2, 'YARN', 'GONE', now() - interval '40 days', 3, 3600, 'open', NULL)`, host, cl)
	require.NoError(t, err)
	res, err := keepalive.NewLoop(pool, keepalive.SimulatedRestarter{}, keepalive.Config{}, nil).RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, res.Expired)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM component_restart WHERE reason = 'recent'`))
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM component_restart`))
	// The component is gone: its alert resolves now, and is kept.
	require.Equal(t, 1, res.Resolved)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM keepalive_alert WHERE message = 'open' AND resolved_at IS NOT NULL`))
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM keepalive_alert`))
}
