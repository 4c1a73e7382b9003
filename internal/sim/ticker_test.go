package sim

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// quietTicker never changes host states, so counts stay predictable.
func quietTicker(t *testing.T, pool *pgxpool.Pool) *Ticker {
	tk := NewTicker(pool, TickerConfig{Seed: DefaultSeed}, testLogger(t))
	tk.sickChance, tk.healChance = 0, 0
	return tk
}

func samplesAt(t *testing.T, pool *pgxpool.Pool, ts time.Time) string {
	t.Helper()
	var h string
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT coalesce(md5(string_agg(m::text, '|' ORDER BY host_id)), '') FROM host_metric m WHERE ts = $1`, ts).Scan(&h))
	return h
}

func TestTickAddsOneSamplePerReportingHostPerMinute(t *testing.T) {
	t.Parallel()
	pool, st := seed(t, smallConfig)
	ctx := context.Background()
	tk := quietTicker(t, pool)
	reporting := count(t, pool, `SELECT count(*) FROM host WHERE state NOT IN ('OFFLINE', 'DECOMMISSIONED')`)

	// A tick 1m30s after the end of history lands on the next minute.
	now := testNow.Add(90 * time.Second)
	minute := testNow.Add(time.Minute)
	ts, err := tk.Tick(ctx, now)
	require.NoError(t, err)
	require.Equal(t, reporting, ts.Samples)
	require.Equal(t, reporting, ts.Heartbeats)
	require.Equal(t, st.Samples+reporting, count(t, pool, `SELECT count(*) FROM host_metric`))
	require.Equal(t, reporting, count(t, pool, `SELECT count(*) FROM host_metric WHERE ts = $1`, minute))
	require.Equal(t, reporting, count(t, pool, `SELECT count(*) FROM host WHERE last_heartbeat = $1`, now))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM host WHERE state IN ('OFFLINE', 'DECOMMISSIONED') AND last_heartbeat >= $1`, testNow),
		"silent hosts keep their old heartbeat")
	first := samplesAt(t, pool, minute)

	// A second tick in the same minute refines that minute's rows, adds none.
	later := now.Add(20 * time.Second)
	ts, err = tk.Tick(ctx, later)
	require.NoError(t, err)
	require.Equal(t, reporting, ts.Samples)
	require.Equal(t, st.Samples+reporting, count(t, pool, `SELECT count(*) FROM host_metric`))
	require.NotEqual(t, first, samplesAt(t, pool, minute), "the later tick's values replace the earlier ones")
	require.Equal(t, reporting, count(t, pool, `SELECT count(*) FROM host WHERE last_heartbeat = $1`, later), "heartbeats move")

	// The next minute is a new row per host.
	_, err = tk.Tick(ctx, later.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, st.Samples+2*reporting, count(t, pool, `SELECT count(*) FROM host_metric`))
}

// TestTickContinuesTheSeededHistory ticks exactly at the end of history: the
// ticker's sample for that instant must be the seeded one, to the last bit, which
// proves both use the same load model and the same per-host parameters.
func TestTickContinuesTheSeededHistory(t *testing.T) {
	t.Parallel()
	pool, st := seed(t, smallConfig)
	before := samplesAt(t, pool, testNow)
	require.NotEmpty(t, before)
	ts, err := quietTicker(t, pool).Tick(context.Background(), testNow)
	require.NoError(t, err)
	require.Positive(t, ts.Samples)
	require.Equal(t, before, samplesAt(t, pool, testNow))
	require.Equal(t, st.Samples, count(t, pool, `SELECT count(*) FROM host_metric`))
}

// A tick on a day without a partition creates it and stores its samples, and the
// rest of the tick (heartbeats) commits with them.
func TestTickWritesOnADayWithoutAPartition(t *testing.T) {
	t.Parallel()
	pool, _ := seed(t, smallConfig)
	// Three days after the history ends, no partition exists yet.
	require.Zero(t, count(t, pool, `SELECT count(*) FROM pg_class WHERE relname = 'host_metric_20260314'`))
	at := testNow.Add(72 * time.Hour)
	ts, err := quietTicker(t, pool).Tick(context.Background(), at)
	require.NoError(t, err)
	require.Positive(t, ts.Samples)
	require.Equal(t, ts.Samples, count(t, pool, `SELECT count(*) FROM host_metric_20260314`))
	require.Equal(t, ts.Heartbeats, count(t, pool, `SELECT count(*) FROM host WHERE last_heartbeat = $1`, at))
	require.Equal(t, int64(1), count(t, pool, `SELECT count(*) FROM rollup_dirty WHERE minute = $1`, at.Truncate(time.Minute)))
}

func TestTickStateChangesAreNotified(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t, db.Options{})
	ctx := context.Background()
	_, err := Seed(ctx, d.Pool, smallConfig, testLogger(t))
	require.NoError(t, err)

	listener, err := pgx.Connect(ctx, d.URL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = listener.Close(context.Background()) })
	_, err = listener.Exec(ctx, `LISTEN `+HostStateChannel)
	require.NoError(t, err)

	receive := func() int64 {
		t.Helper()
		waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := listener.WaitForNotification(waitCtx)
		require.NoError(t, err, "a state change is announced")
		require.Equal(t, HostStateChannel, n.Channel)
		id, err := strconv.ParseInt(n.Payload, 10, 64)
		require.NoError(t, err, "the payload is a host id")
		return id
	}

	// Make one host sick.
	tk := NewTicker(d.Pool, TickerConfig{}, testLogger(t))
	tk.sickChance, tk.healChance = 1, 0
	ts, err := tk.Tick(ctx, testNow.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 1, ts.MadeSick)
	id := receive()
	var state, reason string
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT state, state_reason FROM host WHERE id = $1`, id).Scan(&state, &reason))
	require.Equal(t, stateDegraded, state)
	require.NotEmpty(t, reason)
	require.Equal(t, int64(1), count(t, d.Pool, `SELECT count(*) FROM host_component WHERE host_id = $1 AND actual_state = 'FAILED'`, id))
	require.Equal(t, int64(1), count(t, d.Pool, `SELECT count(*) FROM host_metric WHERE host_id = $1 AND ts = $2`, id, testNow.Add(time.Minute)),
		"a host made sick still reports")

	// Heal one: the sick ones are those the seed made plus the one above.
	sickBefore := count(t, d.Pool, `SELECT count(*) FROM host WHERE state = 'DEGRADED'`)
	tk.sickChance, tk.healChance = 0, 1
	ts, err = tk.Tick(ctx, testNow.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, 1, ts.Healed)
	id = receive()
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT state, state_reason FROM host WHERE id = $1`, id).Scan(&state, &reason))
	require.Equal(t, stateOnline, state)
	require.Empty(t, reason)
	require.Zero(t, count(t, d.Pool, `SELECT count(*) FROM host_component WHERE host_id = $1 AND actual_state <> 'STARTED'`, id))
	require.Equal(t, sickBefore-1, count(t, d.Pool, `SELECT count(*) FROM host WHERE state = 'DEGRADED'`))
}

func TestTickerChoicesAreDeterministic(t *testing.T) {
	t.Parallel()
	sickHost := func() int64 {
		pool, _ := seed(t, smallConfig)
		tk := NewTicker(pool, TickerConfig{}, testLogger(t))
		tk.sickChance, tk.healChance = 1, 0
		_, err := tk.Tick(context.Background(), testNow.Add(time.Minute))
		require.NoError(t, err)
		return count(t, pool, `SELECT host_id FROM host_component WHERE actual_state = 'FAILED' AND updated_at = $1`, testNow.Add(time.Minute))
	}
	require.Equal(t, sickHost(), sickHost(), "the same seed and tick time make the same host sick")
}

func TestRunTicksUntilCancelled(t *testing.T) {
	t.Parallel()
	pool, _ := seed(t, smallConfig)
	ctx, cancel := context.WithCancel(context.Background())
	tk := NewTicker(pool, TickerConfig{Interval: 50 * time.Millisecond}, testLogger(t))
	done := make(chan error, 1)
	go func() { done <- tk.Run(ctx) }()

	// Run uses the wall clock, so heartbeats move past the seeded history.
	started := time.Now().Add(-time.Second)
	require.Eventually(t, func() bool {
		// Eventually polls from another goroutine, where require must not fail.
		var n int64
		err := pool.QueryRow(ctx, `SELECT count(*) FROM host WHERE last_heartbeat >= $1`, started).Scan(&n)
		return err == nil && n > 0
	}, 10*time.Second, 20*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err, "stopping is not a failure")
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

// At fleet size the ticker stores one sample per host per interval (Resolution =
// Interval), each tick new rows, and beats one slot of hosts per tick: every
// reporting host beats once per HeartbeatEvery, no host row is updated twice in
// that time, and host_latest follows the samples.
func TestTickAtIntervalResolutionWithHeartbeatSlots(t *testing.T) {
	t.Parallel()
	pool, st := seed(t, smallConfig)
	ctx := context.Background()
	const interval = 15 * time.Second
	tk := NewTicker(pool, TickerConfig{Seed: DefaultSeed, Interval: interval, Resolution: interval, HeartbeatEvery: time.Minute}, testLogger(t))
	tk.sickChance, tk.healChance = 0, 0
	reporting := count(t, pool, `SELECT count(*) FROM host WHERE state NOT IN ('OFFLINE', 'DECOMMISSIONED')`)

	start := testNow.Add(time.Minute)
	var beats int64
	for i := range 4 {
		now := start.Add(time.Duration(i)*interval + 3*time.Second)
		ts, err := tk.Tick(ctx, now)
		require.NoError(t, err)
		require.Equal(t, reporting, ts.Samples)
		require.Less(t, ts.Heartbeats, reporting, "tick %d beats one slot, not the fleet", i)
		require.Positive(t, ts.Heartbeats)
		beats += ts.Heartbeats
		stored := now.Truncate(interval)
		require.Equal(t, reporting, count(t, pool, `SELECT count(*) FROM host_metric WHERE ts = $1`, stored))
		require.Equal(t, reporting, count(t, pool, `SELECT count(*) FROM host_latest WHERE ts = $1`, stored))
	}
	require.Equal(t, reporting, beats, "four slots beat every reporting host once")
	require.Equal(t, reporting, count(t, pool, `SELECT count(*) FROM host WHERE last_heartbeat >= $1`, start))
	require.Equal(t, st.Samples+4*reporting, count(t, pool, `SELECT count(*) FROM host_metric`))
}

// TestTickLeavesHostsUnderAutomationAlone: while an operation holds a cluster
// (or a host), the ticker changes none of those hosts' states at random; the
// rest of the fleet still gets sick and heals.
func TestTickLeavesHostsUnderAutomationAlone(t *testing.T) {
	t.Parallel()
	pool, _ := seed(t, smallConfig)
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT id FROM cluster WHERE simulated ORDER BY id`)
	require.NoError(t, err)
	clusters, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(clusters), 2)
	busy, other := clusters[0], clusters[1:]

	// An upgrade runs on the first cluster; a finished operation of another
	// holds one of its hosts. Elsewhere every host is in MAINTENANCE but one
	// free host and the held one, so that without the filter the random
	// picks would fall mostly on the hosts under automation.
	var running, finished int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO operation (kind, cluster_id, state, requested_by) VALUES ('UPGRADE', $1, 'RUNNING', 't') RETURNING id`,
		busy).Scan(&running))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO operation (kind, cluster_id, state, requested_by) VALUES ('RESTART', $1, 'SUCCEEDED', 't') RETURNING id`,
		other[0]).Scan(&finished))
	_, err = pool.Exec(ctx, `UPDATE host SET state = 'MAINTENANCE' WHERE cluster_id = ANY($1)`, other)
	require.NoError(t, err)
	var held, free int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT min(id), max(id) FROM host WHERE cluster_id = $1`, other[0]).Scan(&held, &free))
	_, err = pool.Exec(ctx, `UPDATE host SET state = 'ONLINE' WHERE id IN ($1, $2)`, held, free)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET held_by_operation = $2 WHERE id = $1`, held, finished)
	require.NoError(t, err)
	// Some of the busy cluster's hosts are DEGRADED, candidates for healing.
	_, err = pool.Exec(ctx, `UPDATE host SET state = CASE WHEN id % 3 = 0 THEN 'DEGRADED' ELSE 'ONLINE' END
		WHERE cluster_id = $1 AND state IN ('ONLINE', 'DEGRADED')`, busy)
	require.NoError(t, err)

	snapshot := func() string {
		var s string
		require.NoError(t, pool.QueryRow(ctx, `SELECT string_agg(id || ':' || state, ',' ORDER BY id) FROM host
			WHERE cluster_id = $1 OR id = $2`, busy, held).Scan(&s))
		return s
	}
	before := snapshot()
	tk := NewTicker(pool, TickerConfig{}, testLogger(t))
	tk.sickChance, tk.healChance = 1, 1
	var changes int
	for i := 1; i <= 10; i++ {
		st, err := tk.Tick(ctx, testNow.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
		changes += st.MadeSick + st.Healed
	}
	require.Equal(t, before, snapshot(), "no host under automation changed state")
	require.Positive(t, changes, "the free host still gets sick and heals")

	// Once the operation ends, the cluster's hosts are fair game again.
	_, err = pool.Exec(ctx, `UPDATE operation SET state = 'SUCCEEDED' WHERE id = $1`, running)
	require.NoError(t, err)
	for i := 11; i <= 20; i++ {
		_, err := tk.Tick(ctx, testNow.Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
	}
	require.NotEqual(t, before, snapshot())
}
