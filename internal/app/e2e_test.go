package app

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/frontend"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/anomaly"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/sim"
	"github.com/teslaops/tesla/internal/workload"
	"github.com/teslaops/tesla/jobs"
)

// requireTool skips (or, with TESLA_E2E=require as `make test` sets, fails) when
// a tool the browser tests need is missing.
func requireTool(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("TESLA_E2E") == "require" {
		t.Fatalf("%s is required for this test (TESLA_E2E=require)", what)
	}
	t.Skipf("%s is missing: skipping (make test installs it and requires it)", what)
}

// demoServer serves a small seeded demo fleet from a private database — history
// rolled up into water levels and forecasts, each scheduled job run once — and
// returns its URL, an admin token and the cluster names.
func demoServer(t *testing.T) (string, string, []string) {
	t.Helper()
	ds := newDemoServer(t)
	ds.start(t, "127.0.0.1:0")
	return "http://" + ds.addr, ds.token, ds.clusters
}

// demoServerProcess is a server that can be killed and started again on the same
// address and database, as a process restart would.
type demoServerProcess struct {
	d        *dbtest.Database
	logger   *slog.Logger
	cfg      Config
	token    string
	clusters []string
	addr     string
	// Jobs neither run at seeding nor scheduled (see newDemoServer).
	without []string

	stop func()
}

// newDemoServer seeds the fleet and runs every scheduled job once but those
// named in without, which neither run here nor get scheduled by start: a server
// as it is before their first run.
func newDemoServer(t *testing.T, without ...string) *demoServerProcess {
	t.Helper()
	d := dbtest.NewDatabase(t, db.Options{})
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := sim.Seed(ctx, d.Pool, sim.Config{Clusters: 4, Hosts: 160, People: 12, Days: 4, Step: 10 * time.Minute}, logger)
	require.NoError(t, err)
	secret, err := createTokenFor(cliContext(ctx), d.Pool, logger, sim.DemoAdminLogin, auth.Admin, "e2e", time.Hour)
	require.NoError(t, err)
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	cfg.CookieSecure = false
	require.NoError(t, fillWatermarks(ctx, d.Pool, cfg, io.Discard))
	ds := &demoServerProcess{d: d, logger: logger, cfg: cfg, token: secret, without: without}
	for _, j := range ds.jobs(cfg.Jobs) {
		_, err := jobs.Run(ctx, d.Pool, logger, "e2e", j)
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		if ds.stop != nil {
			ds.stop()
		}
	})
	rows, err := d.Pool.Query(ctx, `SELECT name FROM cluster ORDER BY name`)
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		ds.clusters = append(ds.clusters, n)
	}
	return ds
}

// jobs is the default job set less the jobs this server goes without.
func (ds *demoServerProcess) jobs(cfg jobs.DefaultConfig) []jobs.Job {
	var out []jobs.Job
	for _, j := range jobs.Default(ds.d.Pool, cfg) {
		if !slices.Contains(ds.without, j.Name()) {
			out = append(out, j)
		}
	}
	return out
}

// start serves on addr with fresh services (as a new process would have).
func (ds *demoServerProcess) start(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	tl := &trackingListener{Listener: ln}
	ds.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	svc := NewServices(ds.d.Pool, ds.logger, ds.cfg)
	go svc.Events.Run(ctx)
	srv := &http.Server{Handler: NewServer(ds.cfg, ds.d.Pool, ds.logger, svc, prometheus.NewRegistry()),
		BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = srv.Serve(tl) }()
	// The background work of `serve` with the demo on: the fleet ticks and the
	// scheduler rolls minutes up, so screens see real pulses.
	go func() { _ = sim.NewTicker(ds.d.Pool, sim.TickerConfig{Interval: 2 * time.Second}, ds.logger).Run(ctx) }()
	cfg := ds.cfg
	cfg.Jobs.Schedules = map[string]jobs.Schedule{jobs.NameWatermarkRollup: {Interval: 5 * time.Second}}
	sched, err := jobs.NewScheduler(ds.d.Pool, ds.logger, "e2e", ds.jobs(cfg.Jobs)...)
	require.NoError(t, err)
	sched.Start()
	ds.stop = func() {
		// Like a killed process: the listener and every connection, websockets
		// included, vanish at once.
		cancel()
		_ = srv.Close()
		tl.closeAll()
		stopCtx, stopCancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer stopCancel()
		_ = sched.Stop(stopCtx)
		svc.Close()
	}
}

// trackingListener remembers accepted connections so a simulated crash can cut
// hijacked (websocket) connections too, which http.Server.Close leaves open.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}

func runNode(t *testing.T, script string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = filepath.Join("..", "..", "frontend")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("%s output:\n%s", script, out)
	require.NoError(t, err, "%s failed", script)
	require.Regexp(t, `(?m)^\d+ passed, 0 failed`, string(out))
}

func artifactsDir() string {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "frontend", "e2e", "artifacts"))
	return dir
}

func requireScreenshots(t *testing.T, names ...string) {
	t.Helper()
	for _, shot := range names {
		st, err := os.Stat(filepath.Join(artifactsDir(), shot))
		require.NoError(t, err)
		require.Greater(t, st.Size(), int64(10_000), "%s looks empty", shot)
	}
}

func requireChromium(t *testing.T) {
	t.Helper()
	_, err := os.Stat("/usr/bin/chromium")
	requireTool(t, "/usr/bin/chromium (apt-get install chromium)", err == nil)
}

// TestBrowserWatermarksMachineAndScheduler drives the watermarks page, a machine
// analysis page and the scheduler page in Chromium against a real server.
func TestBrowserWatermarksMachineAndScheduler(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	url, token, _ := demoServer(t)
	runNode(t, "e2e/watermarks.e2e.mjs", "TESLA_URL="+url, "TESLA_TOKEN="+token, "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "watermarks.png", "machine.png", "scheduler.png")
}

// TestBrowserBigScreenSurvivesRestart opens the big screen, kills the server
// (every connection cut, as when the process dies), starts a new one on the same
// address and database, and requires the screen to recover on its own: a new
// pulse, no reload.
func TestBrowserBigScreenSurvivesRestart(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ds.start(t, "127.0.0.1:0")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "e2e/screen.e2e.mjs")
	cmd.Dir = filepath.Join("..", "..", "frontend")
	cmd.Env = append(os.Environ(), "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token, "TESLA_RESTART=1",
		"E2E_ARTIFACTS="+artifactsDir())
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	restarted := false
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if line == "RESTART-NOW" && !restarted {
			addr := ds.addr
			ds.stop()
			// Down for a moment, as a real restart would be.
			time.Sleep(2 * time.Second)
			ds.start(t, addr)
			restarted = true
			_, err := io.WriteString(stdin, "RESTARTED\n")
			require.NoError(t, err)
		}
	}
	err = cmd.Wait()
	t.Logf("screen.e2e.mjs output:\n%s\n%s", out.String(), stderr.String())
	require.NoError(t, err)
	require.True(t, restarted, "the script never asked for the restart")
	require.Regexp(t, `(?m)^\d+ passed, 0 failed`, out.String())
	requireScreenshots(t, "screen.png", "screen-after-restart.png")
}

func frontendReady(t *testing.T) {
	t.Helper()
	_, err := fs.Stat(frontend.Dist, "dist/index.html")
	requireTool(t, "the built web app (make frontend, then rebuild)", err == nil)
	_, err = exec.LookPath("node")
	requireTool(t, "node", err == nil)
	_, err = os.Stat(filepath.Join("..", "..", "frontend", "node_modules", "playwright-core"))
	requireTool(t, "frontend npm packages (npm ci in frontend/)", err == nil)
}

// TestBrowserSignInOverviewAndClusterPage drives the real web app in headless
// Chromium against a real server: sign in, see the demo clusters, open one,
// open GraphiQL. Screenshots land in frontend/e2e/artifacts.
func TestBrowserSignInOverviewAndClusterPage(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	url, token, clusters := demoServer(t)
	runNode(t, "e2e/overview.e2e.mjs", "TESLA_URL="+url, "TESLA_TOKEN="+token,
		"TESLA_EXPECT_CLUSTERS="+strings.Join(clusters, ","), "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "overview.png", "cluster.png", "graphiql.png")
}

// TestGraphQLOverHTTPAudit runs graphql-http's server audits against /query; every
// MUST and every SHOULD audit has to pass.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	url, token, _ := demoServer(t)
	runNode(t, "e2e/graphql-audit.mjs", "TESLA_URL="+url+"/query", "TESLA_TOKEN="+token, "AUDIT_FAIL_ON=SHOULD")
}

// TestBrowserActions drives the actions on the screens in Chromium against a
// real server, as an operator (host states from the cluster table and the host
// page, a refusal with the server's message), a viewer (no such controls) and an
// admin (a threshold, a token created, shown once and revoked).
func TestBrowserActions(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ds.start(t, "127.0.0.1:0")
	ctx := cliContext(context.Background())
	operator, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoOperatorLogin, auth.Operator, "e2e", time.Hour)
	require.NoError(t, err)
	viewer, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)
	runNode(t, "e2e/actions.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token,
		"TESLA_OPERATOR_TOKEN="+operator, "TESLA_VIEWER_TOKEN="+viewer, "TESLA_CLUSTER="+ds.clusters[0],
		"E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "cluster-maintenance.png", "host-state.png", "host-refused.png", "thresholds.png", "tokens.png")
}

// TestBrowserCost drives the Cost page in Chromium against a real server whose
// seeded history is billed with the default rate cards: an ADMIN sees cost by
// cluster and BU, is refused an overlapping card with the server's message and
// adds a card for one cluster; a viewer sees no form and cannot export another
// BU's bill.
func TestBrowserCost(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ctx := cliContext(context.Background())
	require.NoError(t, billHistory(ctx, ds.d.Pool, ds.cfg, io.Discard))
	ds.start(t, "127.0.0.1:0")
	viewer, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)
	var other int64
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT b.id FROM bu b WHERE b.id <> (SELECT bu_id FROM person WHERE login = $1) ORDER BY b.id LIMIT 1`,
		sim.DemoViewerLogin).Scan(&other))
	runNode(t, "e2e/cost.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token,
		"TESLA_VIEWER_TOKEN="+viewer, fmt.Sprintf("TESLA_OTHER_BU=%d", other), "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "cost.png", "cost-rate-cards.png")
}

// TestBrowserMachineClustering drives the machine clustering page in Chromium
// against a real server that has not clustered yet: a viewer sees the empty
// state and no run button; an operator runs the analysis and sees the scatter
// and the group table with counts; filters narrow the counts; the viewer then
// sees the run, still without the button.
func TestBrowserMachineClustering(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t, jobs.NameMachineClustering)
	ctx := context.Background()
	// The analysis reads the last 24 complete hours of hourly sums: the seeded
	// history (rolled up by host-hours above) must reach into that window.
	var hosts int
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT count(DISTINCT host_id) FROM host_metric_1h
		WHERE hour >= date_trunc('hour', now()) - interval '24 hours' AND hour < date_trunc('hour', now())`).Scan(&hosts))
	require.Greater(t, hosts, 10, "the seeded fleet has hourly sums in the clustering window")
	ds.start(t, "127.0.0.1:0")
	cli := cliContext(ctx)
	operator, err := createTokenFor(cli, ds.d.Pool, ds.logger, sim.DemoOperatorLogin, auth.Operator, "e2e", time.Hour)
	require.NoError(t, err)
	viewer, err := createTokenFor(cli, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)
	runNode(t, "e2e/clustering.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token,
		"TESLA_OPERATOR_TOKEN="+operator, "TESLA_VIEWER_TOKEN="+viewer, "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "clustering-empty.png", "clustering.png")
}

// TestBrowserWorkloadTools drives the queue and job analysis screens in
// Chromium against a real server on the demo fleet: an operator picks
// batch-wh-01's queue tree, opens a queue's chart, consumers and findings,
// then ranks the worst jobs by score and by waste (the pathological ones with
// their pathology graded, the memory hog first by waste, with its advice),
// filters, loads more and analyses a job; a viewer sees only their own jobs
// and may analyse one.
func TestBrowserWorkloadTools(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ctx := context.Background()
	// The scheduled pass ends a minute behind now, so runs the seed wrote in its
	// last minute wait for the next pass: one with a clock two minutes ahead
	// analyses them all now.
	_, err := workload.RunAnalysis(ctx, ds.d.Pool, workload.AnalysisConfig{Now: func() time.Time { return time.Now().Add(2 * time.Minute) }})
	require.NoError(t, err)
	for _, p := range sim.PathologicalJobs() {
		var score float64
		require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT s.score FROM job_score s JOIN job j ON j.id = s.job_id
			WHERE j.namespace = $1 AND j.name = $2`, p.Namespace, p.Name).Scan(&score), "%s is analysed", p.Name)
	}
	ds.start(t, "127.0.0.1:0")
	cli := cliContext(ctx)
	operator, err := createTokenFor(cli, ds.d.Pool, ds.logger, sim.DemoOperatorLogin, auth.Operator, "e2e", time.Hour)
	require.NoError(t, err)
	viewer, err := createTokenFor(cli, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)
	// The heuristic each pathology shows in.
	shows := map[string]string{
		sim.PathologyMemoryOverprovisioned: workload.HeuristicMemory,
		sim.PathologyTaskSkew:              workload.HeuristicSkew,
		sim.PathologyChronicRetries:        workload.HeuristicFailures,
		sim.PathologyLongQueueWait:         workload.HeuristicQueueWait,
		sim.PathologyRuntimeRegression:     workload.HeuristicRegression,
	}
	var expect []string
	for _, p := range sim.PathologicalJobs() {
		if h, ok := shows[p.Pathology]; ok {
			expect = append(expect, p.Name+"="+h)
		}
	}
	runNode(t, "e2e/tools.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token,
		"TESLA_OPERATOR_TOKEN="+operator, "TESLA_VIEWER_TOKEN="+viewer, "TESLA_PATHOLOGICAL="+strings.Join(expect, ","),
		"E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "queues.png", "jobs.png")
}

// TestBrowserAnomalies drives the anomalies page, the host page's anomalies and
// the big screen's severe count in Chromium against a real server. The demo
// fleet has no anomaly history, so episodes are opened here as the scorer would
// open them: a CRITICAL CPU episode with two MEDIUM ones on hosts of the same
// rack at the same moment (a correlated onset), a LOW memory episode against
// peers elsewhere and fifty older LOW ones (more than a page). An operator sees
// them worst first, loading more pages, opens the critical one
// (its series with the episode shaded) and acknowledges it with a note; is
// refused with the server's message on an episode acknowledged meanwhile; a new
// episode arrives live; a viewer sees no Acknowledge button; the big screen
// counts the open severe ones.
func TestBrowserAnomalies(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ctx := context.Background()

	// Three hosts of one rack and one host elsewhere.
	var rackHosts []int64
	var rackNames []string
	var rack string
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT rack FROM host WHERE state = 'ONLINE' AND rack <> ''
		GROUP BY cluster_id, rack HAVING count(*) >= 3 ORDER BY rack LIMIT 1`).Scan(&rack))
	rows, err := ds.d.Pool.Query(ctx, `SELECT id, hostname FROM host WHERE rack = $1 AND state = 'ONLINE' ORDER BY hostname LIMIT 3`, rack)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		var name string
		require.NoError(t, rows.Scan(&id, &name))
		rackHosts, rackNames = append(rackHosts, id), append(rackNames, name)
	}
	require.NoError(t, rows.Err())
	require.Len(t, rackHosts, 3)
	var lowHost, liveHost int64
	var lowName, liveName string
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT id, hostname FROM host WHERE rack <> $1 AND state = 'ONLINE'
		ORDER BY hostname LIMIT 1`, rack).Scan(&lowHost, &lowName))
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT id, hostname FROM host WHERE rack <> $1 AND state = 'ONLINE'
		ORDER BY hostname DESC LIMIT 1`, rack).Scan(&liveHost, &liveName))

	episodes := anomaly.NewEpisodes(ds.d.Pool, audit.New(ds.d.Pool, ds.logger), anomaly.EpisodeConfig{})
	apply := func(alerts ...anomaly.Alert) []int64 {
		var ids []int64
		require.NoError(t, pgx.BeginFunc(ctx, ds.d.Pool, func(tx pgx.Tx) error {
			var err error
			ids, err = episodes.Apply(ctx, tx, alerts)
			return err
		}))
		return ids
	}
	now := time.Now().UTC().Truncate(time.Minute)
	cpu := func(host int64, at time.Time, value, score float64, open bool) anomaly.Alert {
		return anomaly.Alert{HostID: host, Metric: "CPU", Kind: anomaly.KindSelf, At: at, Value: value, Baseline: 30, Score: score, Open: open}
	}
	// The critical episode: opened 40 minutes ago, peaking 30 minutes ago, last seen 20 minutes ago.
	critical := apply(cpu(rackHosts[0], now.Add(-40*time.Minute), 85, 0.7, true))
	require.Len(t, critical, 1)
	apply(cpu(rackHosts[0], now.Add(-30*time.Minute), 99, 0.97, false), cpu(rackHosts[0], now.Add(-20*time.Minute), 90, 0.75, false))
	require.Len(t, apply(cpu(rackHosts[1], now.Add(-39*time.Minute), 80, 0.65, true)), 1)
	require.Len(t, apply(cpu(rackHosts[2], now.Add(-38*time.Minute), 78, 0.62, true)), 1)
	low := apply(anomaly.Alert{HostID: lowHost, Metric: "MEMORY", Kind: anomaly.KindPeer, At: now.Add(-15 * time.Minute),
		Value: 70, Baseline: 40, Score: 0.45, Open: true})
	require.Len(t, low, 1)
	// Fifty older LOW episodes elsewhere, so the list needs "load more" (50 a page).
	rows, err = ds.d.Pool.Query(ctx, `SELECT id FROM host WHERE state = 'ONLINE' AND rack <> $1 AND id <> ALL($2)
		ORDER BY id LIMIT 50`, rack, []int64{lowHost, liveHost})
	require.NoError(t, err)
	others, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	require.Len(t, others, 50)
	for i, h := range others {
		// Six minutes apart: no correlated onset among them.
		require.Len(t, apply(anomaly.Alert{HostID: h, Metric: "NET_OUT", Kind: anomaly.KindSelf,
			At: now.Add(-time.Hour - time.Duration(i)*6*time.Minute), Value: 9e8, Baseline: 1e8, Score: 0.42, Open: true}), 1)
	}

	ds.start(t, "127.0.0.1:0")
	cli := cliContext(ctx)
	operator, err := createTokenFor(cli, ds.d.Pool, ds.logger, sim.DemoOperatorLogin, auth.Operator, "e2e", time.Hour)
	require.NoError(t, err)
	viewer, err := createTokenFor(cli, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)

	var clusterName string
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT c.name FROM host h JOIN cluster c ON c.id = h.cluster_id WHERE h.id = $1`,
		rackHosts[0]).Scan(&clusterName))
	runNodeTalking(t, "e2e/anomalies.e2e.mjs", map[string]func(){
		// The script waits on the page for an episode to arrive over the subscription.
		"RAISE-NOW": func() {
			require.Len(t, apply(anomaly.Alert{HostID: liveHost, Metric: "DISK_IO", Kind: anomaly.KindSelf, At: time.Now().UTC(),
				Value: 95, Baseline: 20, Score: 0.9, Open: true}), 1)
		},
	}, "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token, "TESLA_OPERATOR_TOKEN="+operator, "TESLA_VIEWER_TOKEN="+viewer,
		"TESLA_CRITICAL_ID="+model.GlobalID(model.KindAnomaly, critical[0]), "TESLA_CRITICAL_HOST="+rackNames[0],
		"TESLA_LOW_ID="+model.GlobalID(model.KindAnomaly, low[0]), "TESLA_LOW_HOST="+lowName, "TESLA_LIVE_HOST="+liveName,
		"TESLA_CLUSTER="+clusterName, "TESLA_RACK="+rack, "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "anomalies.png", "anomaly-episode.png", "anomalies-cluster.png", "screen-anomalies.png")
}

// runNodeTalking runs a browser script that asks the harness for actions: each
// line of its output that names a handler runs it, then the script gets
// "<line> DONE" on its standard input.
func runNodeTalking(t *testing.T, script string, handlers map[string]func(), env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = filepath.Join("..", "..", "frontend")
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if h, ok := handlers[line]; ok {
			h()
			_, err := fmt.Fprintf(stdin, "%s DONE\n", line)
			require.NoError(t, err)
		}
	}
	err = cmd.Wait()
	t.Logf("%s output:\n%s\n%s", script, out.String(), stderr.String())
	require.NoError(t, err, "%s failed", script)
	require.Regexp(t, `(?m)^\d+ passed, 0 failed`, out.String())
}

// TestBrowserWorkload drives the workload screens in Chromium against the demo
// fleet: the viewer's personal centre, their job's page (runs, an analysis on
// demand, lineage) and a refused raise of its priority; the BU admin's BU
// centre, where a priority change sticks.
func TestBrowserWorkload(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ds.start(t, "127.0.0.1:0")
	ctx := cliContext(context.Background())
	viewer, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)
	buLead, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoBULeadLogin, auth.BUAdmin, "e2e", time.Hour)
	require.NoError(t, err)
	runNode(t, "e2e/workload.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token,
		"TESLA_VIEWER_TOKEN="+viewer, "TESLA_BU_TOKEN="+buLead, "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "workload-personal.png", "workload-job.png", "workload-refused.png", "workload-bu.png")
}

// TestBrowserHardware drives the Hardware page in Chromium against a real
// server with the demo fleet's hardware history: an operator takes a ticket
// through repair (start, resolve with a note: the host REPAIRING, then back
// ONLINE) and sees the host's fault history on its machine page; a viewer sees
// the tickets and charts without any button to move them.
func TestBrowserHardware(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ds.start(t, "127.0.0.1:0")
	ctx := cliContext(context.Background())
	operator, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoOperatorLogin, auth.Operator, "e2e", time.Hour)
	require.NoError(t, err)
	viewer, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)
	runNode(t, "e2e/hardware.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token,
		"TESLA_OPERATOR_TOKEN="+operator, "TESLA_VIEWER_TOKEN="+viewer, "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "hardware.png", "hardware-viewer.png")
}

// TestBrowserAdministration drives the Administration section in Chromium
// against a real server: a viewer sees no Administration link; the demo's BU
// lead (BU_ADMIN of Ads) adds a person to their subtree, who then appears, and
// is refused with the server's message for a person in another BU; an operator
// gets host moves and enrollment only; an admin manages BUs and clusters,
// registers hosts by pasting hostnames, retires one and moves another, creates an enrollment
// token (shown once with the agent command) and imports an inventory after a
// dry run.
func TestBrowserAdministration(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ds.start(t, "127.0.0.1:0")
	ctx := cliContext(context.Background())
	viewer, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)
	buLead, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoBULeadLogin, auth.BUAdmin, "e2e", time.Hour)
	require.NoError(t, err)
	operator, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoOperatorLogin, auth.Operator, "e2e", time.Hour)
	require.NoError(t, err)
	runNode(t, "e2e/admin.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+ds.token,
		"TESLA_VIEWER_TOKEN="+viewer, "TESLA_OPERATOR_TOKEN="+operator, "TESLA_BU_TOKEN="+buLead, "TESLA_CLUSTER="+ds.clusters[0],
		"TESLA_OTHER_CLUSTER="+ds.clusters[1], "E2E_ARTIFACTS="+artifactsDir())
	if os.Getenv("E2E_ONLY") == "" { // E2E_ONLY (viewer,bu,hosts,enroll,import) runs a part, for debugging
		requireScreenshots(t, "admin-people.png", "admin-bu-refused.png", "admin-bus.png", "admin-hosts.png", "admin-enroll.png", "admin-import.png")
	}
}
