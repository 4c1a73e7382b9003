package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/sim"
	"github.com/teslaops/tesla/jobs"
)

// costed is a GraphQL response with its extensions.
type costed struct {
	Status     int
	Data       map[string]any `json:"data"`
	Errors     []gqlError     `json:"errors"`
	Extensions struct {
		Cost *graph.Cost `json:"cost"`
	} `json:"extensions"`
	Took time.Duration
	Err  error
}

func (r costed) codes() []string {
	var out []string
	for _, e := range r.Errors {
		c, _ := e.Extensions["code"].(string)
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// postGraphQL posts a query and never fails the test itself, so it can run in
// goroutines; the caller checks Err.
func postGraphQL(url, token, query string) costed {
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, url+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return costed{Err: err, Took: time.Since(start)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	out := costed{Status: resp.StatusCode, Took: time.Since(start), Err: err}
	if err == nil {
		if err := json.Unmarshal(raw, &out); err != nil {
			out.Err = fmt.Errorf("%w: %s", err, raw)
		}
	}
	return out
}

func TestEveryResponseReportsItsCostAndOverLimitIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Viewer)

	r := postGraphQL(e.srv.URL, tok, `{ me { role person { login } } }`)
	require.NoError(t, r.Err)
	require.Empty(t, r.Errors)
	require.Equal(t, &graph.Cost{Requested: 2, Limit: graph.DefaultComplexity}, r.Extensions.Cost)

	// Refused before it runs: no data, the cost and the limit, the code clients know.
	attack := analysisAttack([]string{"n1", "n2", "n3"}, 300)
	r = postGraphQL(e.srv.URL, tok, attack)
	require.NoError(t, r.Err)
	require.Nil(t, r.Data)
	require.Equal(t, []string{"COMPLEXITY_LIMIT_EXCEEDED"}, r.codes())
	require.Contains(t, r.Errors[0].Message, "exceeds the limit of 100000")
	want, err := graph.Price(attack, "", nil, time.Now())
	require.NoError(t, err)
	require.Equal(t, &graph.Cost{Requested: want, Limit: graph.DefaultComplexity}, r.Extensions.Cost)
	require.Greater(t, want, 100*graph.DefaultComplexity)
	// The web app's 24-hour analysis is far below.
	r = postGraphQL(e.srv.URL, tok, `{ host(hostname: "n1") { analysis(window: "24h") { window } } }`)
	require.NoError(t, r.Err)
	require.Less(t, r.Extensions.Cost.Requested, graph.DefaultComplexity/50)
}

func TestOperationPastItsDeadlineGetsTimeoutCode(t *testing.T) {
	t.Parallel()
	// A deadline that has passed before the first resolver runs: every field
	// that reaches the database fails, deterministically.
	e := newEnv(t, func(c *Config) { c.GraphQL.Timeout = time.Nanosecond })
	r := postGraphQL(e.srv.URL, e.as(fixture.Viewer), `{ clusters { nodes { name } } host(hostname: "n1") { analysis { window } } }`)
	require.NoError(t, r.Err)
	require.NotEmpty(t, r.Errors)
	require.Equal(t, []string{"TIMEOUT"}, r.codes(), "%+v", r.Errors)
	require.Contains(t, r.Errors[0].Message, "1ns")
	require.NotNil(t, r.Extensions.Cost)
	// Resolvers stopped mid-way by the deadline are covered by
	// TestViewerAttackLeavesTheServiceResponsive.
}

func TestAPIPoolIsSeparateWithItsOwnStatementTimeout(t *testing.T) {
	t.Parallel()
	d := dbtest.NewDatabase(t, db.Options{})
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	cfg.GraphQL.StatementTimeout = 200 * time.Millisecond
	svc := NewServices(d.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	t.Cleanup(svc.Close)
	ctx := context.Background()

	require.EqualValues(t, 8, svc.api.Config().MaxConns)
	var timeout, name string
	require.NoError(t, svc.api.QueryRow(ctx, `SELECT current_setting('statement_timeout'), current_setting('application_name')`).Scan(&timeout, &name))
	require.Equal(t, "200ms", timeout)
	require.Equal(t, "tesla-api", name)
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT current_setting('statement_timeout')`).Scan(&timeout))
	require.Equal(t, "0", timeout, "the main pool (ingestion, scheduler) has no statement timeout")

	_, err = svc.api.Exec(ctx, `SELECT pg_sleep(2)`)
	require.Error(t, err)
	require.True(t, db.IsTimeout(err), err)

	// A context deadline cancels the statement in the server, not only the socket.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err = svc.api.Exec(cctx, `SELECT pg_sleep(1.5)`)
	require.True(t, db.IsTimeout(err), err)
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(1.5)%' AND state = 'active'`).Scan(&n))
		return n == 0
	}, time.Second, 20*time.Millisecond, "the cancelled statement still runs in PostgreSQL")
}

func TestConfigChecksGraphQLLimits(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	cfg, err := LoadConfig(env())
	require.NoError(t, err)
	require.Equal(t, GraphQLLimits{Timeout: 15 * time.Second, StatementTimeout: 10 * time.Second, DBConns: 8,
		ExpensiveCost: 5000, ExpensiveAtOnce: 2, ExpensivePerUser: 1}, cfg.GraphQL)
	require.Equal(t, 100_000, cfg.ComplexityLimit)

	cfg, err = LoadConfig(env("TESLA_GRAPHQL_TIMEOUT", "1m", "TESLA_GRAPHQL_STATEMENT_TIMEOUT", "30s", "TESLA_GRAPHQL_DB_CONNS", "20",
		"TESLA_GRAPHQL_EXPENSIVE_COST", "1000", "TESLA_GRAPHQL_EXPENSIVE_AT_ONCE", "4", "TESLA_GRAPHQL_EXPENSIVE_PER_USER", "2"))
	require.NoError(t, err)
	require.Equal(t, GraphQLLimits{Timeout: time.Minute, StatementTimeout: 30 * time.Second, DBConns: 20,
		ExpensiveCost: 1000, ExpensiveAtOnce: 4, ExpensivePerUser: 2}, cfg.GraphQL)

	for _, bad := range [][]string{
		{"TESLA_GRAPHQL_STATEMENT_TIMEOUT", "20s"}, // longer than the request
		{"TESLA_GRAPHQL_TIMEOUT", "forever"},
		{"TESLA_GRAPHQL_DB_CONNS", "4"}, // expensive work could take every connection
		{"TESLA_GRAPHQL_EXPENSIVE_AT_ONCE", "0"},
	} {
		_, err := LoadConfig(env(bad...))
		require.ErrorContains(t, err, bad[0], bad)
	}
}

// analysisAttack is the reported attack: n aliases of a 31-day machine analysis.
func analysisAttack(hosts []string, n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, ` a%d: host(hostname: %q) { analysis(window: "744h") { window findings { severity text } peers { dimension verdict percentileRank } } }`,
			i, hosts[i%len(hosts)])
	}
	b.WriteString(" }")
	return b.String()
}

// TestViewerAttackLeavesTheServiceResponsive replays the reported attack — one
// VIEWER POST of 300 aliases of a 31-day analysis — against the real handler on a
// seeded demo fleet, with the scheduler and the demo ticker running:
//
//   - with the default limits it is refused by its cost before it runs;
//   - with the cost limit lifted it runs, bounded by the deadline and the
//     expensive-operation slots, and a second expensive request from the same
//     viewer is refused with RATE_LIMITED.
//
// Throughout, /readyz must answer 200 and another user's cheap query must answer
// within a bound relative to its normal time measured here, and ingestion and
// the scheduler must keep working.
func TestViewerAttackLeavesTheServiceResponsive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := dbtest.NewDatabase(t, db.Options{})
	_, err := sim.Seed(ctx, d.Pool, sim.Config{Clusters: 2, Hosts: 80, People: 12, Days: 4, Step: 5 * time.Minute}, logger)
	require.NoError(t, err)
	viewer, err := createTokenFor(cliContext(ctx), d.Pool, logger, sim.DemoViewerLogin, auth.Viewer, "attack", time.Hour)
	require.NoError(t, err)
	admin, err := createTokenFor(cliContext(ctx), d.Pool, logger, sim.DemoAdminLogin, auth.Admin, "probe", time.Hour)
	require.NoError(t, err)
	var hosts []string
	rows, err := d.Pool.Query(ctx, `SELECT hostname FROM host WHERE state <> 'DECOMMISSIONED' ORDER BY id`)
	require.NoError(t, err)
	for rows.Next() {
		var h string
		require.NoError(t, rows.Scan(&h))
		hosts = append(hosts, h)
	}
	require.NoError(t, rows.Err())

	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	// Bring the rollups up to date first, so the scheduler's runs during the
	// test are the routine, incremental ones.
	for _, j := range jobs.Default(d.Pool, cfg.Jobs) {
		_, err := jobs.Run(ctx, d.Pool, logger, "limits", j)
		require.NoError(t, err)
	}

	// The background work of `serve`: the scheduler (rollup every 2s) and the
	// demo fleet ticking every second, both on the main pool.
	bg, stopBG := context.WithCancel(ctx)
	jobsCfg := cfg.Jobs
	jobsCfg.Schedules = map[string]jobs.Schedule{jobs.NameWatermarkRollup: {Interval: 2 * time.Second}}
	sched, err := jobs.NewScheduler(d.Pool, logger, "limits", jobs.Default(d.Pool, jobsCfg)...)
	require.NoError(t, err)
	sched.Start()
	tickerDone := make(chan struct{})
	go func() {
		defer close(tickerDone)
		_ = sim.NewTicker(d.Pool, sim.TickerConfig{Interval: time.Second}, logger).Run(bg)
	}()
	t.Cleanup(func() {
		stopBG()
		<-tickerDone
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sched.Stop(stopCtx)
	})

	serve := func(tweak func(*Config)) string {
		c := cfg
		c.CookieSecure = false
		tweak(&c)
		svc := NewServices(d.Pool, logger, c)
		srv := httptest.NewServer(NewServer(c, d.Pool, logger, svc, prometheus.NewRegistry()))
		t.Cleanup(func() { srv.Close(); svc.Close() })
		return srv.URL
	}
	defaults := serve(func(*Config) {})
	// The deadline of the lifted server. Since the peers of an analysis come from
	// hourly sums, 300 analyses of this small fleet may finish inside it; what
	// does not is a TIMEOUT (TestOperationPastItsDeadlineGetsTimeoutCode forces
	// one), and either way the slots keep the rest of the service responsive.
	const timeout = 2 * time.Second
	lifted := serve(func(c *Config) {
		c.ComplexityLimit = 100_000_000
		c.GraphQL.Timeout = timeout
		c.GraphQL.StatementTimeout = time.Second
	})

	const cheap = `{ me { person { login } } }`
	// The cheap query's normal time, on this machine, now.
	var normal []time.Duration
	for range 15 {
		r := postGraphQL(defaults, admin, cheap)
		require.NoError(t, r.Err)
		require.Empty(t, r.Errors)
		normal = append(normal, r.Took)
	}
	slices.Sort(normal)
	median := normal[len(normal)/2]
	// Generous for a loaded 2-core machine, far below the tens of seconds the
	// attack used to impose.
	bound := 10*median + 1500*time.Millisecond
	t.Logf("cheap query: median %s, slowest %s; bound under attack %s", median, normal[len(normal)-1], bound)

	// probe checks readiness and the cheap query until stop is closed.
	type probeResult struct {
		checks       int
		slowest      time.Duration
		failures     []string
		readySlowest time.Duration
	}
	probe := func(url string, stop <-chan struct{}) probeResult {
		var res probeResult
		for {
			select {
			case <-stop:
				return res
			default:
			}
			start := time.Now()
			resp, err := http.Get(url + "/readyz")
			switch {
			case err != nil:
				res.failures = append(res.failures, "readyz: "+err.Error())
			case resp.StatusCode != http.StatusOK:
				res.failures = append(res.failures, fmt.Sprintf("readyz answered %d", resp.StatusCode))
			}
			if resp != nil {
				resp.Body.Close()
			}
			res.readySlowest = max(res.readySlowest, time.Since(start))
			r := postGraphQL(url, admin, cheap)
			switch {
			case r.Err != nil:
				res.failures = append(res.failures, "cheap query: "+r.Err.Error())
			case len(r.Errors) > 0:
				res.failures = append(res.failures, fmt.Sprintf("cheap query errors: %+v", r.Errors))
			case r.Took > bound:
				res.failures = append(res.failures, fmt.Sprintf("cheap query took %s (bound %s)", r.Took, bound))
			}
			res.slowest = max(res.slowest, r.Took)
			res.checks++
			time.Sleep(50 * time.Millisecond) // pacing of the probe, not a wait for a condition
		}
	}
	attackQuery := analysisAttack(hosts, 300)

	t.Run("default limits refuse it by cost", func(t *testing.T) {
		stop := make(chan struct{})
		probed := make(chan probeResult, 1)
		go func() { probed <- probe(defaults, stop) }()
		r := postGraphQL(defaults, viewer, attackQuery)
		close(stop)
		p := <-probed
		require.NoError(t, r.Err)
		require.Equal(t, []string{"COMPLEXITY_LIMIT_EXCEEDED"}, r.codes())
		require.Nil(t, r.Data)
		require.Greater(t, r.Extensions.Cost.Requested, r.Extensions.Cost.Limit)
		t.Logf("refused in %s at cost %d (limit %d)", r.Took, r.Extensions.Cost.Requested, r.Extensions.Cost.Limit)
		require.Empty(t, p.failures)
	})

	t.Run("lifted cost limit: deadline and slots bound it", func(t *testing.T) {
		attackStart := time.Now()
		var running atomic.Bool
		running.Store(true)
		attacked := make(chan costed, 1)
		go func() {
			r := postGraphQL(lifted, viewer, attackQuery)
			running.Store(false)
			attacked <- r
		}()
		stop := make(chan struct{})
		probed := make(chan probeResult, 1)
		go func() { probed <- probe(lifted, stop) }()

		// Wait until the attack's analyses run in PostgreSQL (on the API's pool).
		var apiConns, sawAnalysis int
		require.Eventually(t, func() bool {
			require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE application_name = 'tesla-api' AND query LIKE '%percentile_cont%' AND state = 'active'),
				count(*) FILTER (WHERE application_name = 'tesla-api')
				FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&sawAnalysis, &apiConns))
			return sawAnalysis > 0 || !running.Load()
		}, 10*time.Second, 10*time.Millisecond)

		// The same viewer may not start a second expensive operation meanwhile.
		second := postGraphQL(lifted, viewer, `{ host(hostname: "`+hosts[0]+`") { analysis(window: "744h") { window } } }`)
		// Checked only well inside the attack's deadline: a slot freed just before
		// the attack's answer reaches the client must not count as a failure.
		stillRunning := running.Load() && time.Since(attackStart) < timeout/2
		require.NoError(t, second.Err)
		if stillRunning {
			require.Equal(t, []string{"RATE_LIMITED"}, second.codes(), "%+v", second.Errors)
			require.EqualValues(t, 5, second.Errors[0].Extensions["retryAfterSeconds"])
		} else {
			t.Log("the attack finished before the second request: RATE_LIMITED not checked")
		}

		var r costed
		select {
		case r = <-attacked:
		case <-time.After(timeout + 20*time.Second):
			t.Fatal("the attack outlived its deadline")
		}
		close(stop)
		p := <-probed
		require.NoError(t, r.Err)
		// What did not finish in time is a TIMEOUT, nothing else.
		require.Subset(t, []string{"TIMEOUT"}, r.codes(), "%+v", r.Errors)
		t.Logf("attack answered in %s with %d errors (codes %v); %d probes, slowest cheap query %s, slowest readyz %s; %d API connections open",
			r.Took, len(r.Errors), r.codes(), p.checks, p.slowest, p.readySlowest, apiConns)
		require.Less(t, r.Took, timeout+10*time.Second)
		require.Greater(t, p.checks, 0)
		require.Empty(t, p.failures)

		// Ingestion (the ticker) and the scheduler kept working meanwhile.
		require.Eventually(t, func() bool {
			var beats, runs int
			require.NoError(t, d.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM host WHERE last_heartbeat > $1),
				(SELECT count(*) FROM scheduler_run WHERE job = $2 AND started_at > $1 AND finished_at IS NOT NULL AND error = '')`,
				attackStart, jobs.NameWatermarkRollup).Scan(&beats, &runs))
			return beats > 0 && runs > 0
		}, 20*time.Second, 100*time.Millisecond)
	})
}

// TestSubscriptionEventsGetTheDeadlineNotTheConnection: with a deadline that
// has always passed, each event's resolvers time out, yet the subscription
// lives on and delivers the next event.
func TestSubscriptionEventsGetTheDeadlineNotTheConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.GraphQL.Timeout = time.Nanosecond })
	// Mutations go through a server with the normal deadline, on the same database.
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := NewServices(e.db.Pool, logger, cfg)
	normal := httptest.NewServer(NewServer(cfg, e.db.Pool, logger, svc, prometheus.NewRegistry()))
	t.Cleanup(func() { normal.Close(); svc.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/query", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	defer conn.CloseNow()
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + e.as(fixture.Viewer)}}))
	var msg map[string]any
	require.NoError(t, wsjson.Read(ctx, conn, &msg))
	require.Equal(t, "connection_ack", msg["type"])
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { hostStateChanged { hostname cluster { name } } }`}}))

	events := make(chan map[string]any, 16)
	go func() {
		for {
			var m map[string]any
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				close(events)
				return
			}
			events <- m
		}
	}()
	host := model.GlobalID(model.KindHost, e.fleet.Hosts["online-1-n02"])
	states := []string{"MAINTENANCE", "ONLINE"}
	var got []map[string]any
	for i := 0; len(got) < 2; i++ {
		// The subscription must be registered before a change counts; changes are
		// repeated (bounded by ctx) instead of sleeping.
		r := postGraphQL(normal.URL, e.as(fixture.Operator), fmt.Sprintf(`mutation { setHostState(input: {hostId: %q, state: %s}) { userErrors { message } } }`, host, states[i%2]))
		require.NoError(t, r.Err)
		require.Empty(t, r.Errors)
		select {
		case m, ok := <-events:
			require.True(t, ok, "the subscription ended")
			require.Equal(t, "next", m["type"], "%v", m)
			got = append(got, m)
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no subscription events before the deadline")
		}
	}
	for _, m := range got {
		errs, _ := dig(m, "payload", "errors").([]any)
		require.NotEmpty(t, errs, "%v", m)
		require.Equal(t, "TIMEOUT", dig(errs[0], "extensions", "code"), "%v", m)
	}
}
