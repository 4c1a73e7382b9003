package healing_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/healing"
)

var quiet = slog.New(slog.DiscardHandler)

func viewerCtx() context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Login: "viewer", Role: auth.Viewer, Method: auth.MethodToken})
}

// fleet makes Bulk clusters of 10 hosts (kinds BATCH, ONLINE, STREAMING,
// BATCH…; in each, hosts 4 and 9 are in MAINTENANCE, 3 and 8 DEGRADED) and
// returns each cluster's hosts in hostname order.
func fleet(t *testing.T, pool *pgxpool.Pool, clusters int) ([]int64, map[int64][]int64) {
	t.Helper()
	ids := fixture.Bulk(t, pool, clusters, 10)
	hosts := map[int64][]int64{}
	for _, c := range ids {
		rows, err := pool.Query(context.Background(), `SELECT id FROM host WHERE cluster_id = $1 ORDER BY hostname`, c)
		require.NoError(t, err)
		hosts[c], err = pgx.CollectRows(rows, pgx.RowTo[int64])
		require.NoError(t, err)
	}
	return ids, hosts
}

func exec(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	_, err := pool.Exec(context.Background(), sql, args...)
	require.NoError(t, err)
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// giveUp makes keep-alive's alert on host's component, which still fails:
// a failed health check.
func giveUp(t *testing.T, pool *pgxpool.Pool, host int64) {
	t.Helper()
	exec(t, pool, `UPDATE host_component SET actual_state = 'FAILED' WHERE host_id = $1`, host)
	exec(t, pool, `INSERT INTO keepalive_alert (host_id, cluster_id, service, component, raised_at, restarts, window_seconds, message)
		SELECT id, cluster_id, 'YARN', 'NODEMANAGER', now(), 3, 3600, 'gave up' FROM host WHERE id = $1`, host)
}

func insertOnly(t testing.TB, pool *pgxpool.Pool) *aquila.Engine {
	t.Helper()
	e, err := aquila.NewEngine(pool, nil, quiet, aquila.EngineConfig{NoWork: true})
	require.NoError(t, err)
	return e
}

// failingExecutor succeeds at once except the HEAL_REPAIR of the hosts in
// fail.
type failingExecutor struct {
	mu   sync.Mutex
	fail map[int64]bool
	ran  []string
}

var errRepair = errors.New("repair failed: the service does not come up")

func (f *failingExecutor) Run(_ context.Context, t aquila.Task) (aquila.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ran = append(f.ran, t.Action)
	if t.Action == aquila.ActionHealRepair && f.fail[t.HostID] {
		return aquila.Result{Output: "restarting"}, errRepair
	}
	return aquila.Result{Output: "ok"}, nil
}

func working(t *testing.T, pool *pgxpool.Pool, exec aquila.Executor) *aquila.Engine {
	t.Helper()
	e, err := aquila.NewEngine(pool, exec, quiet, aquila.EngineConfig{FetchPollInterval: 100 * time.Millisecond, RetryDelay: 10 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, e.Start(ctx))
	t.Cleanup(func() {
		cancel()
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = e.Stop(stopCtx)
	})
	return e
}

func waitEnded(t *testing.T, pool *pgxpool.Pool, op int64) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var state string
	for time.Now().Before(deadline) {
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT state FROM operation WHERE id = $1`, op).Scan(&state))
		if !aquila.State(state).Active() {
			return state
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("operation %d still %s after 60s", op, state)
	return ""
}

func attemptsOf(t *testing.T, pool *pgxpool.Pool, state string) map[int64]*healing.Attempt {
	t.Helper()
	list, err := healing.NewService(pool, nil, healing.Config{}).Attempts(viewerCtx(), healing.AttemptFilter{State: state, Limit: 100})
	require.NoError(t, err)
	out := map[int64]*healing.Attempt{}
	for _, a := range list {
		out[a.HostID] = a
	}
	return out
}

// Each signal makes a host sick: a silent host is rebooted, a host with an
// open hardware fault goes to a person (repair ticket, taken out), hosts with
// a failed health check (keep-alive gave up; a poor health score) or a
// severe open anomaly have their services restarted — all of one cluster in
// one SELF_HEAL. A MEDIUM anomaly and an acknowledged one are not signals.
func TestSickHostsAreFoundByEachSignal(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	clusters, hosts := fleet(t, pool, 1)
	cl, hs := clusters[0], hosts[clusters[0]]
	silent, faulty, gaveUp, poor, anomalous, medium, acked := hs[0], hs[1], hs[2], hs[4], hs[5], hs[6], hs[7]
	exec(t, pool, `UPDATE host SET last_heartbeat = now() - interval '10 minutes' WHERE id = $1`, silent)
	exec(t, pool, `INSERT INTO hardware_fault (host_id, component, kind, severity, detected_at, source) VALUES ($1, 'DISK', 'SMART_REALLOCATED', 'HIGH', now(), 'agent')`, faulty)
	giveUp(t, pool, gaveUp)
	exec(t, pool, `INSERT INTO health_score (level, subject_id, score, components, components_hash, computed_at, cluster_id, reason)
		VALUES ('HOST', $1, 12, '{}', 0, now(), $2, 'components down')`, poor, cl)
	for _, a := range []struct {
		host             int64
		severity, status string
	}{{anomalous, "CRITICAL", "OPEN"}, {medium, "MEDIUM", "OPEN"}, {acked, "CRITICAL", "ACKNOWLEDGED"}} {
		exec(t, pool, `INSERT INTO anomaly_episode (host_id, cluster_id, metric, kind, status, severity, started_at, last_seen_at, peak_score, peak_at)
			VALUES ($1, $2, 'CPU', 'SELF', $3, $4, now(), now(), 9, now())`, a.host, cl, a.status, a.severity)
	}

	h := healing.NewHealer(pool, insertOnly(t, pool), healing.Config{Policies: map[string]healing.Policy{
		"BATCH": {MaxAtOnce: 10, MaxAtOncePct: 50, AllowReboot: true}}}, quiet)
	res, err := h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, healing.Result{Sick: 5, Started: 4, Operations: 1, HandedOver: 1}, res)

	healingNow := attemptsOf(t, pool, healing.StateHealing)
	require.Len(t, healingNow, 4)
	require.Equal(t, aquila.RepairReboot, healingNow[silent].Repair)
	require.Equal(t, []string{healing.SignalHeartbeat}, healingNow[silent].Signals)
	require.Contains(t, healingNow[silent].Detail, "no heartbeat since")
	for _, id := range []int64{gaveUp, poor} {
		require.Equal(t, aquila.RepairRestartServices, healingNow[id].Repair)
		require.Equal(t, []string{healing.SignalHealthCheck}, healingNow[id].Signals)
	}
	require.Contains(t, healingNow[gaveUp].Detail, "keep-alive gave up on YARN NODEMANAGER")
	require.Contains(t, healingNow[poor].Detail, "health score 12: components down")
	require.Equal(t, []string{healing.SignalAnomaly}, healingNow[anomalous].Signals)
	require.Equal(t, *healingNow[silent].OperationID, *healingNow[anomalous].OperationID, "one SELF_HEAL for the cluster")

	over := attemptsOf(t, pool, healing.StateHandedOver)
	require.Len(t, over, 1)
	require.Equal(t, []string{healing.SignalHardwareFault}, over[faulty].Signals)
	require.NotNil(t, over[faulty].TicketID)
	var origin, hostState string
	require.NoError(t, pool.QueryRow(ctx, `SELECT t.origin, h.state FROM repair_ticket t JOIN host h ON h.id = t.host_id WHERE t.id = $1`,
		*over[faulty].TicketID).Scan(&origin, &hostState))
	require.Equal(t, "system", origin)
	require.Equal(t, "REPAIRING", hostState, "taken out of service")
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM hardware_fault WHERE host_id = $1 AND ticket_id IS NOT NULL`, faulty))

	var kind, stages string
	require.NoError(t, pool.QueryRow(ctx, `SELECT o.kind, string_agg(s.name, ', ' ORDER BY s.position) FROM operation o
		JOIN operation_stage s ON s.operation_id = o.id WHERE o.id = $1 GROUP BY o.kind`, *healingNow[silent].OperationID).Scan(&kind, &stages))
	require.Equal(t, "SELF_HEAL", kind)
	require.Equal(t, "drain, repair, verify, return to service", stages)
	// Every step is audited with its reason.
	require.Equal(t, 4, count(t, pool, `SELECT count(*) FROM audit_log WHERE actor = 'system:healing' AND action = 'startSelfHeal'
		AND input->>'reason' <> ''`))
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM audit_log WHERE actor = 'system:healing' AND action = 'handOverHost'`))

	// A second pass finds nothing new: the hosts heal, or are with a person.
	res, err = h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, healing.Result{}, res)
}

// A host healed with the simulated fleet goes drain → repair → verify →
// return to service: ONLINE again, its component running, the attempt HEALED
// on the next pass, counted in the day's healing rate.
func TestSelfHealGoesDrainRepairVerifyOnline(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	clusters, hosts := fleet(t, pool, 1)
	host := hosts[clusters[0]][0]
	giveUp(t, pool, host)

	e := working(t, pool, aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: time.Millisecond, Seed: 1}))
	h := healing.NewHealer(pool, e, healing.Config{}, quiet)
	res, err := h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Started)
	a := attemptsOf(t, pool, healing.StateHealing)[host]
	require.NotNil(t, a)
	require.Equal(t, "SUCCEEDED", waitEnded(t, pool, *a.OperationID))

	rows, err := pool.Query(ctx, `SELECT t.action FROM operation_task t JOIN operation_stage s ON s.id = t.stage_id
		WHERE t.operation_id = $1 AND t.host_id = $2 AND t.state = 'SUCCEEDED' ORDER BY s.position`, *a.OperationID, host)
	require.NoError(t, err)
	steps, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{aquila.ActionDrain, aquila.ActionHealRepair, aquila.ActionHealVerify, aquila.ActionHealReturn}, steps)
	var state, comp string
	var held *int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT h.state, h.held_by_operation, c.actual_state FROM host h JOIN host_component c ON c.host_id = h.id
		WHERE h.id = $1`, host).Scan(&state, &held, &comp))
	require.Equal(t, "ONLINE", state)
	require.Nil(t, held)
	require.Equal(t, "STARTED", comp)

	res, err = h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, healing.Result{Healed: 1}, res, "healed, and no longer sick")
	healed := attemptsOf(t, pool, healing.StateHealed)[host]
	require.NotNil(t, healed)
	require.Contains(t, healed.Reason, "every step succeeded")
	days, err := healing.NewService(pool, nil, healing.Config{}).RatePerDay(viewerCtx(), 7, 0, time.Now())
	require.NoError(t, err)
	require.Len(t, days, 1)
	require.Equal(t, 1, days[0].Healed)
	require.InDelta(t, 1.0, days[0].Rate(), 1e-9)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM audit_log WHERE action = 'selfHealResult' AND input->>'state' = 'HEALED'`))
}

// Half the hosts of a cluster sick at once: healing starts only as many as
// the budget allows and records why the others wait; the daily budget and
// the cluster's minimum capacity hold back the same way.
func TestHealingStopsAtTheBudgetAndSaysSo(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	clusters, hosts := fleet(t, pool, 6)
	atOnce, perDay, minimum := clusters[0], clusters[3], clusters[5]
	exec(t, pool, `UPDATE cluster SET min_hosts = 7 WHERE id = $1`, minimum)
	for _, c := range clusters {
		if c == atOnce || c == perDay || c == minimum {
			for _, i := range []int{0, 1, 2, 5, 6} {
				giveUp(t, pool, hosts[c][i])
			}
		}
	}
	exec(t, pool, `UPDATE cluster SET kind = 'BATCH' WHERE id = $1`, minimum)
	h := healing.NewHealer(pool, insertOnly(t, pool), healing.Config{Policies: map[string]healing.Policy{
		"BATCH": {MaxAtOnce: 2, MaxAtOncePct: 50, MaxPerDay: 20, AllowReboot: true}}}, quiet)
	res, err := h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 15, res.Sick)
	waiting, err := healing.NewService(pool, nil, healing.Config{}).Waiting(viewerCtx(), atOnce, 100)
	require.NoError(t, err)
	require.Len(t, waiting, 3)
	for _, w := range waiting {
		require.Contains(t, w.Reason, "healing budget: at most 2 hosts at once on this BATCH cluster of 10 hosts, 2 healing")
	}
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM healing_attempt WHERE cluster_id = $1 AND state = 'HEALING'`, atOnce))
	// Minimum 7 in service of 8 (two in MAINTENANCE): one host may go.
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM healing_attempt WHERE cluster_id = $1`, minimum))
	waiting, err = healing.NewService(pool, nil, healing.Config{}).Waiting(viewerCtx(), minimum, 100)
	require.NoError(t, err)
	require.Len(t, waiting, 4)
	require.Contains(t, waiting[0].Reason, "minimum capacity:")

	// The per-day budget: a fresh healer with 3 a day and room at once.
	exec(t, pool, `DELETE FROM healing_attempt WHERE cluster_id = $1`, perDay)
	exec(t, pool, `UPDATE operation SET state = 'ABORTED' WHERE cluster_id = $1`, perDay)
	h = healing.NewHealer(pool, insertOnly(t, pool), healing.Config{Policies: map[string]healing.Policy{
		"BATCH": {MaxAtOnce: 10, MaxAtOncePct: 50, MaxPerDay: 3, AllowReboot: true}}}, quiet)
	_, err = h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, count(t, pool, `SELECT count(*) FROM healing_attempt WHERE cluster_id = $1`, perDay))
	waiting, err = healing.NewService(pool, nil, healing.Config{}).Waiting(viewerCtx(), perDay, 100)
	require.NoError(t, err)
	require.Len(t, waiting, 2)
	require.Contains(t, waiting[0].Reason, "healing budget: 3 hosts a day on this BATCH cluster, all spent")
}

// A host whose healing fails twice within the window goes to a person: a
// repair ticket opened by the platform through internal/hardware, the host
// taken out of service, the attempt HANDED_OVER.
func TestHostFailingTwiceIsHandedToAPerson(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	clusters, hosts := fleet(t, pool, 1)
	host := hosts[clusters[0]][0]
	giveUp(t, pool, host)
	ex := &failingExecutor{fail: map[int64]bool{host: true}}
	h := healing.NewHealer(pool, working(t, pool, ex), healing.Config{}, quiet)

	for attempt := 1; attempt <= 2; attempt++ {
		res, err := h.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, res.Started, "attempt %d", attempt)
		require.Equal(t, attempt-1, res.Failed)
		a := attemptsOf(t, pool, healing.StateHealing)[host]
		require.Equal(t, "FAILED", waitEnded(t, pool, *a.OperationID))
		var state, reason string
		require.NoError(t, pool.QueryRow(ctx, `SELECT state, state_reason FROM host WHERE id = $1`, host).Scan(&state, &reason))
		require.Equal(t, "DEGRADED", state, "a host not healed returns DEGRADED")
		require.Contains(t, reason, "self-heal failed")
	}
	res, err := h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, healing.Result{Failed: 1, HandedOver: 1}, res)
	failed, err := healing.NewService(pool, nil, healing.Config{}).Attempts(viewerCtx(), healing.AttemptFilter{State: healing.StateFailed, Limit: 10})
	require.NoError(t, err)
	require.Len(t, failed, 2)
	require.Contains(t, failed[0].Reason, "HEAL_REPAIR FAILED: restarting")
	over := attemptsOf(t, pool, healing.StateHandedOver)[host]
	require.NotNil(t, over)
	require.Contains(t, over.Reason, "healing failed 2 times within 24h0m0s")
	var ticketState, origin, hostState, note string
	require.NoError(t, pool.QueryRow(ctx, `SELECT t.state, t.origin, h.state, e.note FROM repair_ticket t JOIN host h ON h.id = t.host_id
		JOIN repair_ticket_event e ON e.ticket_id = t.id WHERE t.id = $1`, *over.TicketID).Scan(&ticketState, &origin, &hostState, &note))
	require.Equal(t, "OPEN", ticketState)
	require.Equal(t, "system", origin)
	require.Equal(t, "REPAIRING", hostState)
	require.Contains(t, note, "self-healing hands this host to a person")

	// With a person now: no more healing.
	res, err = h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, healing.Result{}, res)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM audit_log WHERE action = 'openRepairTicket' AND actor = 'system:healing'`))
}

// Streaming clusters heal more cautiously than batch ones: a silent host
// goes to a person instead of a reboot, signals must hold for ten minutes
// before healing starts, a HIGH anomaly is not enough, one host at a time.
func TestStreamingHealsMoreCautiously(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	clusters, hosts := fleet(t, pool, 3)
	batch, streaming := clusters[0], clusters[2]
	for _, c := range []int64{batch, streaming} {
		hs := hosts[c]
		exec(t, pool, `UPDATE host SET last_heartbeat = now() - interval '3 hours' WHERE id = $1`, hs[0])
		giveUp(t, pool, hs[1])
		giveUp(t, pool, hs[2])
		exec(t, pool, `INSERT INTO anomaly_episode (host_id, cluster_id, metric, kind, status, severity, started_at, last_seen_at, peak_score, peak_at)
			VALUES ($1, $2, 'CPU', 'SELF', 'OPEN', 'HIGH', now(), now(), 9, now())`, hs[5], c)
	}
	now := time.Now()
	clock := func() time.Time { return now }
	h := healing.NewHealer(pool, insertOnly(t, pool), healing.Config{MissedHeartbeat: time.Hour, Now: clock,
		Policies: map[string]healing.Policy{"BATCH": {MaxAtOnce: 10, MaxAtOncePct: 50, AllowReboot: true}}}, quiet)
	res, err := h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 4+3, res.Sick, "the HIGH anomaly makes a batch host sick, not a streaming one")

	batchAttempts := count(t, pool, `SELECT count(*) FROM healing_attempt WHERE cluster_id = $1 AND repair = 'REBOOT'`, batch)
	require.Equal(t, 1, batchAttempts, "a silent batch host is rebooted")
	require.Equal(t, 3, count(t, pool, `SELECT count(*) FROM healing_attempt WHERE cluster_id = $1 AND repair = 'RESTART_SERVICES'`, batch))
	// The streaming cluster waits for its signals to hold.
	require.Zero(t, count(t, pool, `SELECT count(*) FROM healing_attempt WHERE cluster_id = $1`, streaming))
	waiting, err := healing.NewService(pool, nil, healing.Config{}).Waiting(viewerCtx(), streaming, 10)
	require.NoError(t, err)
	require.Len(t, waiting, 3)
	require.Contains(t, waiting[0].Reason, "confirming: sick for 0s of the 10m0s a STREAMING cluster waits before healing")

	// Eleven minutes later they held: the silent host goes to a person (no
	// reboot), and one host at a time has its services restarted.
	now = now.Add(11 * time.Minute)
	res, err = h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Started)
	require.Equal(t, 1, res.HandedOver)
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM healing_attempt WHERE cluster_id = $1 AND repair = 'TICKET' AND state = 'HANDED_OVER'`, streaming))
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM healing_attempt WHERE cluster_id = $1 AND state = 'HEALING'`, streaming))
	waiting, err = healing.NewService(pool, nil, healing.Config{}).Waiting(viewerCtx(), streaming, 10)
	require.NoError(t, err)
	require.Len(t, waiting, 1)
	require.Contains(t, waiting[0].Reason, "healing budget: at most 1 hosts at once on this STREAMING cluster of 10 hosts, 1 healing")

	// A batch cluster does not wait: its defaults heal at once.
	require.Zero(t, healing.DefaultPolicies["BATCH"].SickFor)
	require.False(t, healing.DefaultPolicies["STREAMING"].AllowReboot)
}

// gateExecutor succeeds at once except HEAL_REPAIR, which waits for the gate
// (or the engine stopping).
type gateExecutor struct{ gate chan struct{} }

func (g gateExecutor) Run(ctx context.Context, t aquila.Task) (aquila.Result, error) {
	if t.Action == aquila.ActionHealRepair {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return aquila.Result{}, ctx.Err()
		}
	}
	return aquila.Result{Output: "ok"}, nil
}

// An operator aborts a SELF_HEAL while it repairs: the drained host is not
// left in MAINTENANCE but returned DEGRADED, and the next pass records the
// attempt FAILED, saying the operation was aborted.
func TestAbortedSelfHealReturnsItsHosts(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	clusters, hosts := fleet(t, pool, 1)
	host := hosts[clusters[0]][0]
	giveUp(t, pool, host)
	gate := make(chan struct{})
	defer close(gate)
	e := working(t, pool, gateExecutor{gate})
	h := healing.NewHealer(pool, e, healing.Config{}, quiet)
	_, err := h.RunOnce(ctx)
	require.NoError(t, err)
	a := attemptsOf(t, pool, healing.StateHealing)[host]
	require.NotNil(t, a)
	deadline := time.Now().Add(30 * time.Second)
	for count(t, pool, `SELECT count(*) FROM operation_task WHERE operation_id = $1 AND action = $2 AND state = 'RUNNING'`,
		*a.OperationID, aquila.ActionHealRepair) == 0 {
		require.True(t, time.Now().Before(deadline), "the repair never started")
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'MAINTENANCE' AND held_by_operation = $2`, host, *a.OperationID))

	operator := auth.WithPrincipal(ctx, &auth.Principal{Login: "ops", Role: auth.Operator, Method: auth.MethodToken})
	_, err = aquila.NewService(pool, e, audit.New(pool, quiet)).Abort(operator, *a.OperationID)
	require.NoError(t, err)
	var state string
	var held *int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT state, held_by_operation FROM host WHERE id = $1`, host).Scan(&state, &held))
	require.Equal(t, "DEGRADED", state)
	require.Nil(t, held)

	_, err = h.RunOnce(ctx)
	require.NoError(t, err)
	failed := attemptsOf(t, pool, healing.StateFailed)[host]
	require.NotNil(t, failed)
	require.Contains(t, failed.Reason, "ABORTED")
}

// retryExecutor succeeds at once except the HEAL_REPAIR of a host in
// failUntil, which fails up to that attempt.
type retryExecutor struct{ failUntil map[int64]int }

func (r retryExecutor) Run(_ context.Context, t aquila.Task) (aquila.Result, error) {
	if t.Action == aquila.ActionHealRepair && t.Attempt <= r.failUntil[t.HostID] {
		return aquila.Result{Output: "restarting"}, errRepair
	}
	return aquila.Result{Output: "ok"}, nil
}

// An operator retries a failed SELF_HEAL: a host whose retry succeeds goes
// through its steps again (drained, repaired, verified) and returns ONLINE
// with its components running, as after a first-time success, its new
// attempt HEALED; a host whose retry fails again returns DEGRADED and, with
// two failures, goes to a person; a host handed elsewhere meanwhile is not
// retried.
func TestRetriedSelfHealReturnsItsHosts(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	clusters, hosts := fleet(t, pool, 1)
	hs := hosts[clusters[0]]
	good, bad, taken := hs[0], hs[1], hs[2]
	for _, h := range []int64{good, bad, taken} {
		giveUp(t, pool, h)
	}
	e := working(t, pool, retryExecutor{failUntil: map[int64]int{good: 1, bad: 2, taken: 1}})
	h := healing.NewHealer(pool, e, healing.Config{Policies: map[string]healing.Policy{
		"BATCH": {MaxAtOnce: 10, MaxAtOncePct: 50, AllowReboot: true}}}, quiet)
	res, err := h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, res.Started)
	op := *attemptsOf(t, pool, healing.StateHealing)[good].OperationID
	require.Equal(t, "FAILED", waitEnded(t, pool, op))
	for _, id := range []int64{good, bad, taken} {
		require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'DEGRADED' AND held_by_operation IS NULL`, id))
	}
	// A person takes one host before the retry.
	exec(t, pool, `UPDATE host SET state = 'REPAIRING', state_reason = 'by hand' WHERE id = $1`, taken)

	svc := aquila.NewService(pool, e, audit.New(pool, quiet))
	svc.OnRetry(aquila.KindSelfHeal, healing.RecordRetry)
	operator := auth.WithPrincipal(ctx, &auth.Principal{Login: "ops", Role: auth.Operator, Method: auth.MethodToken})
	_, err = svc.RetryFailedTasks(operator, op)
	require.NoError(t, err)
	// The failure the passes had not seen yet is recorded, and each host
	// retried has a new attempt.
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM healing_attempt WHERE operation_id = $1 AND state = 'FAILED'`, op))
	retried := attemptsOf(t, pool, healing.StateHealing)
	require.Len(t, retried, 3)
	require.Contains(t, retried[good].Reason, "retry of operation")
	require.Contains(t, retried[good].Reason, "by ops")
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM audit_log WHERE action = 'startSelfHeal' AND input ? 'retryOf'`))
	require.Equal(t, "FAILED", waitEnded(t, pool, op), "one host failed again")

	var state, reason, comp string
	var held *int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT h.state, h.state_reason, h.held_by_operation, c.actual_state FROM host h
		JOIN host_component c ON c.host_id = h.id WHERE h.id = $1`, good).Scan(&state, &reason, &held, &comp))
	require.Equal(t, "ONLINE", state, "a successful retry returns the host to service")
	require.Empty(t, reason)
	require.Nil(t, held)
	require.Equal(t, "STARTED", comp)
	// It went through every step again, from the drain.
	require.Equal(t, 4, count(t, pool, `SELECT count(*) FROM operation_task WHERE operation_id = $1 AND host_id = $2 AND attempts = 2 AND state = 'SUCCEEDED'`, op, good))
	require.NoError(t, pool.QueryRow(ctx, `SELECT state, state_reason FROM host WHERE id = $1`, bad).Scan(&state, &reason))
	require.Equal(t, "DEGRADED", state)
	require.Contains(t, reason, "self-heal failed")
	require.NoError(t, pool.QueryRow(ctx, `SELECT state FROM host WHERE id = $1`, taken).Scan(&state))
	require.Equal(t, "REPAIRING", state, "a host someone else has is left to them")
	require.Zero(t, count(t, pool, `SELECT count(*) FROM operation_task WHERE operation_id = $1 AND host_id = $2 AND attempts = 2`, op, taken))
	require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM operation_event WHERE operation_id = $1 AND message LIKE '%no longer this self-heal''s%'`, op))

	res, err = h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Healed)
	require.Equal(t, 2, res.Failed, "the retry's failure and the untouched host's")
	require.Equal(t, 1, res.HandedOver, "two failures: to a person")
	require.Zero(t, res.Started)
	require.NotNil(t, attemptsOf(t, pool, healing.StateHealed)[good])
	require.NotNil(t, attemptsOf(t, pool, healing.StateHandedOver)[bad])
	require.NoError(t, pool.QueryRow(ctx, `SELECT state FROM host WHERE id = $1`, bad).Scan(&state))
	require.Equal(t, "REPAIRING", state)
}

// Healing through agents sends no agent step to a host whose agent is
// silent: a silent host is not rebooted and a host whose agent stopped
// reporting (while its samples still arrive) gets no restart; both go to a
// person at once, the reason saying since when the agent is silent, audited.
// A host whose agent reports has its services restarted. (Without agents,
// the simulated fleet, whose hosts have no agent, a silent host is rebooted:
// TestSickHostsAreFoundByEachSignal.) The Self-healing view's totals count
// them.
func TestSilentAgentHostGoesToAPersonAtOnce(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	clusters, hosts := fleet(t, pool, 1)
	hs := hosts[clusters[0]]
	silent, mute, alive := hs[0], hs[1], hs[2]
	quietSince := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	exec(t, pool, `UPDATE host SET last_heartbeat = $2, agent_heartbeat_at = $2 WHERE id = $1`, silent, quietSince)
	giveUp(t, pool, mute)
	exec(t, pool, `UPDATE host SET last_heartbeat = now(), agent_heartbeat_at = $2 WHERE id = $1`, mute, quietSince)
	giveUp(t, pool, alive)
	exec(t, pool, `UPDATE host SET last_heartbeat = now(), agent_heartbeat_at = now() WHERE id = $1`, alive)

	h := healing.NewHealer(pool, insertOnly(t, pool), healing.Config{ThroughAgents: true, Policies: map[string]healing.Policy{
		"BATCH": {MaxAtOnce: 10, MaxAtOncePct: 50, AllowReboot: true}}}, quiet)
	res, err := h.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, healing.Result{Sick: 3, Started: 1, Operations: 1, HandedOver: 2}, res)

	want := "agent silent since " + quietSince.Format("2006-01-02 15:04:05") + " UTC"
	over := attemptsOf(t, pool, healing.StateHandedOver)
	require.Len(t, over, 2)
	require.Contains(t, over[silent].Reason, want+": its REBOOT would not reach the host")
	require.Contains(t, over[mute].Reason, want+": its RESTART_SERVICES would not reach the host")
	for _, id := range []int64{silent, mute} {
		require.NotNil(t, over[id].TicketID)
		require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'REPAIRING'`, id))
		require.Equal(t, 1, count(t, pool, `SELECT count(*) FROM audit_log WHERE actor = 'system:healing' AND action = 'handOverHost'
			AND target = 'host:' || $1::bigint AND input->>'reason' LIKE $2`, id, want+"%"))
		require.Zero(t, count(t, pool, `SELECT count(*) FROM operation_task WHERE host_id = $1`, id), "no agent step")
	}
	healingNow := attemptsOf(t, pool, healing.StateHealing)
	require.Len(t, healingNow, 1)
	require.Equal(t, aquila.RepairRestartServices, healingNow[alive].Repair)

	// The listing's totals count every page with the listing's filters.
	svc := healing.NewService(pool, nil, healing.Config{})
	for _, c := range []struct {
		f    healing.AttemptFilter
		want int
	}{
		{healing.AttemptFilter{State: healing.StateHandedOver, Limit: 1}, 2},
		{healing.AttemptFilter{State: healing.StateHealing}, 1},
		{healing.AttemptFilter{ClusterID: clusters[0]}, 3},
		{healing.AttemptFilter{ClusterID: clusters[0] + 1000}, 0},
		{healing.AttemptFilter{Since: time.Now().Add(time.Hour)}, 0},
	} {
		n, err := svc.CountAttempts(viewerCtx(), c.f)
		require.NoError(t, err)
		require.Equal(t, c.want, n, "%+v", c.f)
	}
	page, err := svc.Attempts(viewerCtx(), healing.AttemptFilter{State: healing.StateHandedOver, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page, 1, "a page of one, of two in all")
	_, err = svc.CountAttempts(viewerCtx(), healing.AttemptFilter{State: "LOST"})
	require.ErrorContains(t, err, "state is HEALING")
	_, err = svc.CountAttempts(ctx, healing.AttemptFilter{})
	require.Error(t, err, "signed-in callers only")
}
