package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/sim"
	"github.com/teslaops/tesla/jobs"
)

// newDemoEnv serves a small seeded demo fleet whose history is rolled up into
// water levels and forecasts, as `tesla seed demo` leaves it.
func newDemoEnv(t *testing.T) (*testEnv, string) {
	t.Helper()
	d := dbtest.NewDatabase(t, db.Options{})
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := sim.Seed(ctx, d.Pool, sim.Config{Clusters: 3, Hosts: 45, People: 8, Days: 5, Step: 10 * time.Minute}, logger)
	require.NoError(t, err)
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	cfg.CookieSecure = false
	var out bytes.Buffer
	require.NoError(t, fillWatermarks(ctx, d.Pool, cfg, &out))
	require.Contains(t, out.String(), "rolled up")
	secret, err := createTokenFor(cliContext(ctx), d.Pool, logger, sim.DemoViewerLogin, auth.Viewer, "test", time.Hour)
	require.NoError(t, err)
	svc := NewServices(d.Pool, logger, cfg)
	evCtx, cancel := context.WithCancel(context.Background())
	go svc.Events.Run(evCtx)
	srv := httptest.NewServer(NewServer(cfg, d.Pool, logger, svc, prometheus.NewRegistry()))
	t.Cleanup(func() { srv.Close(); cancel(); svc.Close() })
	return &testEnv{srv: srv, db: d, events: cancel}, secret
}

func TestWatermarksThroughTheAPI(t *testing.T) {
	t.Parallel()
	e, tok := newDemoEnv(t)
	r := e.gql(t, tok, `{ platform {
		levels { dimension utilization threshold status hosts unit }
		watermarks { cluster { name kind } worst { dimension utilization threshold status } levels { dimension } }
		clustersAtRisk(horizonDays: 30) { cluster { name } dimension utilization threshold daysToThreshold reason }
		recentSickHosts(first: 5) { hostname state }
	} }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	lv := dig(r.Data, "platform", "levels").([]any)
	require.NotEmpty(t, lv)
	for _, l := range lv {
		u := dig(l, "utilization").(float64)
		require.True(t, u >= 0 && u <= 1, "utilisation is a share: %v", l)
		require.Contains(t, []any{"OK", "WARN", "CRITICAL"}, dig(l, "status"))
	}
	wm := dig(r.Data, "platform", "watermarks").([]any)
	require.Len(t, wm, 3, "every cluster has a row")
	sev := func(w any) float64 {
		return dig(w, "worst", "utilization").(float64) / dig(w, "worst", "threshold").(float64)
	}
	for i := 1; i < len(wm); i++ {
		require.GreaterOrEqual(t, sev(wm[i-1]), sev(wm[i]), "clusters most at risk come first")
	}

	name := dig(wm[0], "cluster", "name").(string)
	to := time.Now().UTC()
	from := to.Add(-4 * 24 * time.Hour)
	r = e.gql(t, tok, `query($n: String, $from: Time, $to: Time) { cluster(name: $n) {
		watermarkThreshold
		watermarkNow(dimensions: [CPU, MEMORY]) { dimension utilization status }
		watermarks(dimensions: [CPU], from: $from, to: $to, maxPoints: 50) { dimension step threshold points { ts utilization peak hosts } }
		forecast(dimensions: [CPU]) { dimension method daysOfHistory currentPeak slopePerDay crossesAt projection { ts value low high } }
	} }`, map[string]any{"n": name, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)})
	require.Empty(t, r.Errors, r.Raw)
	c := dig(r.Data, "cluster")
	require.Len(t, dig(c, "watermarkNow"), 2)
	pts := dig(c, "watermarks", 0, "points").([]any)
	require.NotEmpty(t, pts)
	require.LessOrEqual(t, len(pts), 50, "maxPoints is honoured")
	require.Equal(t, dig(c, "watermarkThreshold"), dig(c, "watermarks", 0, "threshold"))
	fc := dig(c, "forecast").([]any)
	require.Len(t, fc, 1)
	require.GreaterOrEqual(t, dig(fc[0], "daysOfHistory").(float64), 3.0)
	require.NotEmpty(t, dig(fc[0], "projection"))

	r = e.gql(t, tok, `{ clusters { nodes { name watermarkNow(dimensions: [CPU]) { utilization } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	r = e.gql(t, tok, `query($n: String, $to: Time) { cluster(name: $n) { watermarks(from: $to, to: $to) { dimension } } }`,
		map[string]any{"n": name, "to": to.Format(time.RFC3339)})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
}

func TestHostMetricsAndMachineAnalysisThroughTheAPI(t *testing.T) {
	t.Parallel()
	e, tok := newDemoEnv(t)
	r := e.gql(t, tok, `{ hosts(first: 1, filter: {state: ONLINE}) { nodes { hostname
		metrics(maxPoints: 24) { step points { ts cpuPercent cpuPercentMax samples } }
		analysis(window: "24h") { window os hardware { cpuCores } components { service } peers { dimension hostAverage peerMedian percentileRank verdict } findings { severity text } }
	} } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	h := dig(r.Data, "hosts", "nodes", 0)
	pts := dig(h, "metrics", "points").([]any)
	require.NotEmpty(t, pts)
	require.LessOrEqual(t, len(pts), 24)
	require.Equal(t, "24h0m0s", dig(h, "analysis", "window"))
	require.Len(t, dig(h, "analysis", "peers"), 6)
	require.NotNil(t, dig(h, "analysis", "peers", 0, "hostAverage"))
	r = e.gql(t, tok, `{ hosts(first: 1) { nodes { analysis(window: "1s") { window } } } }`, nil)
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
}

func TestSchedulerJobsThroughTheAPI(t *testing.T) {
	t.Parallel()
	e, tok := newDemoEnv(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	all := jobs.Default(e.db.Pool, jobs.DefaultConfig{})
	job, err := jobs.Find(all, jobs.NamePartitions)
	require.NoError(t, err)
	_, err = jobs.Run(context.Background(), e.db.Pool, logger, "test-replica", job)
	require.NoError(t, err)
	r := e.gql(t, tok, `{ schedulerJobs { name interval lastRun { replica duration error } lastSuccess { startedAt } runs(first: 5) { job } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	byName := map[string]any{}
	for _, j := range dig(r.Data, "schedulerJobs").([]any) {
		byName[dig(j, "name").(string)] = j
	}
	require.Contains(t, byName, "watermark-rollup")
	require.Equal(t, "test-replica", dig(byName["partitions"], "lastRun", "replica"))
	require.Len(t, dig(byName["partitions"], "runs"), 1)
	r = e.gql(t, tok, `{ schedulerJobs { runs(first: 1000) { job } } }`, nil)
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
}

// TestPlatformPulseAndWatermarkSubscriptions follow live screens: both send the
// current picture at once and a new one after a rollup changes the levels.
func TestPlatformPulseAndWatermarkSubscriptions(t *testing.T) {
	t.Parallel()
	e, tok := newDemoEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/query",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	defer conn.CloseNow()
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": tok}}))
	var msg map[string]any
	require.NoError(t, wsjson.Read(ctx, conn, &msg))
	require.Equal(t, "connection_ack", msg["type"])

	var clusterID string
	r := e.gql(t, tok, `{ clusters(first: 1) { nodes { id } } }`, nil)
	clusterID = dig(r.Data, "clusters", "nodes", 0, "id").(string)
	// Sick hosts with their clusters: the pulse resolves them through loaders the
	// platform resolver primes, which must outlive that resolver within the event.
	_, err = e.db.Pool.Exec(ctx, `UPDATE host SET state = 'DEGRADED', state_reason = 'disk errors', state_changed_at = now()
		WHERE id IN (SELECT id FROM host ORDER BY id LIMIT 4)`)
	require.NoError(t, err)
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"id": "p", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { platformPulse { at platform { hostCounts { total } levels(dimensions: [CPU]) { utilization }
			recentSickHosts(first: 10) { hostname cluster { name } } } } }`}}))
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"id": "w", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($c: ID!) { watermarkUpdated(clusterId: $c) { cluster { name } levels { dimension } } }`, "variables": map[string]any{"c": clusterID}}}))

	next := func() map[string]any {
		for {
			var m map[string]any
			require.NoError(t, wsjson.Read(ctx, conn, &m))
			if m["type"] == "next" {
				return m
			}
			require.NotEqual(t, "error", m["type"], "%v", m)
		}
	}
	seen := map[string]int{}
	for len(seen) < 2 {
		m := next()
		seen[m["id"].(string)]++
		if m["id"] == "p" {
			require.Nil(t, dig(m, "payload", "errors"), "%v", m)
			require.Len(t, dig(m, "payload", "data", "platformPulse", "platform", "recentSickHosts"), 4, "%v", m)
			require.NotEmpty(t, dig(m, "payload", "data", "platformPulse", "platform", "recentSickHosts", 3, "cluster", "name"), "%v", m)
		}
	}
	// New samples for the last complete minute, then a rollup: both fire again.
	minute := time.Now().UTC().Truncate(time.Minute).Add(-time.Minute)
	_, err = e.db.Pool.Exec(ctx, `INSERT INTO host_metric (host_id, ts, cpu_pct, mem_pct) SELECT id, $1, 99, 99 FROM host
		ON CONFLICT (host_id, ts) DO UPDATE SET cpu_pct = 99`, minute)
	require.NoError(t, err)
	_, err = e.db.Pool.Exec(ctx, `INSERT INTO rollup_dirty VALUES ($1) ON CONFLICT DO NOTHING`, minute)
	require.NoError(t, err)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	job, err := jobs.Find(jobs.Default(e.db.Pool, jobs.DefaultConfig{}), jobs.NameWatermarkRollup)
	require.NoError(t, err)
	_, err = jobs.Run(ctx, e.db.Pool, logger, "test", job)
	require.NoError(t, err)
	for seen["p"] < 2 || seen["w"] < 2 {
		m := next()
		seen[m["id"].(string)]++
	}
}

func TestWatermarkThresholdsAreConfigurableByAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const m = `mutation($k: ThresholdKind!, $t: Float!) { setWatermarkThreshold(input: {kind: $k, threshold: $t}) {
		thresholds { kind threshold } userErrors { field code } } }`
	r := e.gql(t, e.as(fixture.Operator), m, map[string]any{"k": "BATCH", "t": 0.9})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), m, map[string]any{"k": "BATCH", "t": 1.5})
	require.Equal(t, []any{"input", "threshold"}, dig(r.Data, "setWatermarkThreshold", "userErrors", 0, "field"), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), m, map[string]any{"k": "BATCH", "t": 0.9})
	require.Empty(t, r.Errors, r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `{ watermarkThresholds { kind threshold } cluster(name: "batch-wh-1") { watermarkThreshold } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, 0.9, dig(r.Data, "cluster", "watermarkThreshold"))
	require.Len(t, dig(r.Data, "watermarkThresholds"), 4)
	r = e.gql(t, e.as(fixture.Admin), `{ auditLog(filter: {action: "setWatermarkThreshold"}) { nodes { outcome actor } } }`, nil)
	require.Len(t, dig(r.Data, "auditLog", "nodes"), 3, "every attempt is audited: %s", r.Raw)
}
