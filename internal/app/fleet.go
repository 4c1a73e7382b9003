package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/sim"
	"github.com/teslaops/tesla/jobs"
)

// fleetBench is `tesla bench fleet`: the composed system at fleet size, end to
// end. It seeds a fleet into a database of its own on the configured server,
// starts the real server (this binary's `serve`) as separate processes — the
// first with the live ticker, all with the scheduler — drives the dashboards'
// queries over HTTP from a bounded closed-loop load generator, and prints what
// it measured next to the targets of docs/benchmarks.md.
type fleetBench struct {
	Hosts, Clusters, Largest int
	Step                     time.Duration
	Duration, Warmup         time.Duration
	Workers, Replicas        int
	Interval                 time.Duration
	Root                     string
	Keep                     bool

	cfg    Config
	out    io.Writer
	logger *slog.Logger
}

func cmdBench(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "fleet" {
		return errors.New("bench: the only bench is `bench fleet`")
	}
	b := fleetBench{cfg: cfg, out: stdout, logger: newLogger(cfg)}
	fs := newFlags("bench fleet")
	fs.IntVar(&b.Hosts, "hosts", 250_000, "hosts in the fleet")
	fs.IntVar(&b.Clusters, "clusters", 200, "clusters in the fleet")
	fs.IntVar(&b.Largest, "largest", 20_000, "hosts of the biggest cluster (0: spread like the others)")
	fs.DurationVar(&b.Step, "step", time.Hour, "time between seeded history samples (one day of history)")
	fs.DurationVar(&b.Duration, "duration", 3*time.Minute, "how long to measure")
	fs.DurationVar(&b.Warmup, "warmup", 45*time.Second, "how long the servers run before measuring")
	fs.IntVar(&b.Workers, "workers", 4, "concurrent query clients (each sends its next query when the last answered)")
	fs.IntVar(&b.Replicas, "replicas", 2, "server processes on the one database (the first runs the ticker)")
	fs.DurationVar(&b.Interval, "interval", 15*time.Second, "live ticker interval: one sample per host per interval")
	fs.StringVar(&b.Root, "root", ".", "repository root, where the frontend's queries and docs/graphql.md are read")
	fs.BoolVar(&b.Keep, "keep", false, "keep the bench database afterwards")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if b.Largest > b.Hosts-(b.Clusters-1) {
		b.Largest = 0
	}
	return b.run(ctx)
}

// fleetDatabaseURL is the configured URL with the database replaced by name.
func fleetDatabaseURL(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("error parsing DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func (b *fleetBench) run(ctx context.Context) error {
	// The queries are read first, so a bench started from the wrong directory
	// fails before the minutes of seeding.
	if _, _, err := loadBenchQueries(b.Root, map[string]any{}, nil, ""); err != nil {
		return err
	}
	name := fmt.Sprintf("tesla_fleet_%d", b.Hosts)
	dbURL, err := fleetDatabaseURL(b.cfg.DatabaseURL, name)
	if err != nil {
		return err
	}
	adminURL, err := fleetDatabaseURL(b.cfg.DatabaseURL, "postgres")
	if err != nil {
		return err
	}
	admin, err := db.Open(ctx, adminURL, db.Options{MaxConns: 1})
	if err != nil {
		return err
	}
	defer admin.Close()
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("error dropping the previous bench database: %w", err)
	}
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+ident); err != nil {
		return fmt.Errorf("error creating the bench database: %w", err)
	}
	if !b.Keep {
		defer func() {
			_, _ = admin.Exec(context.WithoutCancel(ctx), `DROP DATABASE IF EXISTS `+ident+` WITH (FORCE)`)
		}()
	}
	fmt.Fprintf(b.out, "fleet bench: %d hosts in %d clusters (largest %d), database %s\n", b.Hosts, b.Clusters, b.Largest, name)
	fmt.Fprintf(b.out, "machine: %d CPUs (%s/%s), %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, machineModel())

	pool, err := db.Open(ctx, dbURL, db.Options{MaxConns: 4})
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := migrateUp(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	st, err := sim.Seed(ctx, pool, sim.Config{Clusters: b.Clusters, Hosts: b.Hosts, Largest: b.Largest, Days: 1, Step: b.Step},
		slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "seeded: %s\n", st)
	if err := fillWatermarks(ctx, pool, b.cfg, b.out); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return fmt.Errorf("error analysing the bench database: %w", err)
	}

	var token string
	var giant, someHost string
	var adminID int64
	if err := pool.QueryRow(ctx, `SELECT id FROM person WHERE role = 'ADMIN' ORDER BY id LIMIT 1`).Scan(&adminID); err != nil {
		return fmt.Errorf("error finding an admin: %w", err)
	}
	if _, token, err = auth.InsertToken(ctx, pool, auth.TokenSpec{PersonID: adminID, Name: "fleet bench", Role: auth.Admin}); err != nil {
		return err
	}
	if err := pool.QueryRow(ctx, `SELECT c.name, min(h.hostname) FROM cluster c JOIN host h ON h.cluster_id = c.id
		GROUP BY c.id ORDER BY count(*) DESC LIMIT 1`).Scan(&giant, &someHost); err != nil {
		return fmt.Errorf("error finding the biggest cluster: %w", err)
	}
	now := time.Now().UTC()
	known := map[string]any{"name": giant, "first": 50, "hostname": someHost,
		"from": now.Add(-6 * time.Hour).Format(time.RFC3339), "to": now.Format(time.RFC3339),
		"depth": 2, "pickAny": false, "detail": true}
	byQuery, err := benchStandIns(ctx, pool)
	if err != nil {
		return err
	}
	queries, skipped, err := loadBenchQueries(b.Root, known, byQuery, giant)
	if err != nil {
		return err
	}
	if len(skipped) > 0 {
		fmt.Fprintf(b.out, "queries skipped (they need a value the bench has no stand-in for): %s\n", strings.Join(skipped, "; "))
	}

	var servers []*benchServer
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for i := range b.Replicas {
		s, err := b.startServer(ctx, dbURL, i == 0, i)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	fmt.Fprintf(b.out, "%d server process(es) ready; warming up for %s\n", len(servers), b.Warmup)
	if err := sleepCtx(ctx, b.Warmup); err != nil {
		return err
	}
	var size0 int64
	_ = pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size0)

	// The measured window.
	began := time.Now()
	for _, s := range servers {
		s.markWindow()
	}
	wctx, stop := context.WithTimeout(ctx, b.Duration)
	defer stop()
	var wg sync.WaitGroup
	lag := &series{}
	wg.Go(func() { sampleLag(wctx, pool, lag) })
	stats := make([]*queryStats, len(queries))
	for i := range stats {
		stats[i] = &queryStats{}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	for w := range b.Workers {
		wg.Go(func() { b.drive(wctx, client, servers, token, queries, stats, w) })
	}
	for _, s := range servers {
		wg.Go(func() { watchSubscriptions(wctx, s.url, token, &s.subs) })
	}
	var flips int
	wg.Go(func() { flips = flipHostState(wctx, client, servers, token) })
	wg.Wait()
	window := time.Since(began)
	if ctx.Err() != nil {
		return ctx.Err()
	}

	var size1 int64
	_ = pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&size1)
	b.report(ctx, pool, queries, stats, lag, servers, began, window, size0, size1)
	fmt.Fprintf(b.out, "| host state changes made by the bench for the subscriptions | %d (replica 1, then replica %d) |\n", flips, len(servers))
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// machineModel is the CPU model line of /proc/cpuinfo, for the record.
func machineModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// benchServer is one `tesla serve` process and what its log says.
type benchServer struct {
	cmd    *exec.Cmd
	url    string
	ticker bool

	mu           sync.Mutex
	windowFrom   time.Time
	ticks        []float64    // tick durations (ms) in the window
	tickParts    [3][]float64 // of which loading hosts, storing samples, heartbeats
	tickFailures []string
	errors       int
	cpu0         float64 // CPU seconds at the window's start
	rssMax       int64
	subs         subscriptionCounts // what its websocket delivered in the window
}

func (b *fleetBench) startServer(ctx context.Context, dbURL string, ticker bool, n int) (*benchServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cmd := exec.Command(exe, "serve")
	onOff := map[bool]string{true: "on", false: "off"}
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "TESLA_LISTEN="+addr, "TESLA_LOG_FORMAT=json", "TESLA_LOG_LEVEL=debug",
		"TESLA_SIMULATE="+onOff[ticker], "TESLA_SIM_INTERVAL="+b.Interval.String(), "TESLA_SIM_RESOLUTION="+b.Interval.String(),
		"TESLA_SIM_HEARTBEAT=1m", "TESLA_SCHEDULER=on", "TESLA_COOKIE_SECURE=off", "TESLA_AUTO_MIGRATE=off",
		fmt.Sprintf("TESLA_REPLICA=fleet-%d", n))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("error starting a server: %w", err)
	}
	s := &benchServer{cmd: cmd, url: "http://" + addr, ticker: ticker}
	go s.readLog(stderr)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("the server on %s did not become ready: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readLog follows the server's JSON log: tick durations and failures, errors.
func (s *benchServer) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Time    time.Time `json:"time"`
			Level   string    `json:"level"`
			Msg     string    `json:"msg"`
			Elapsed float64   `json:"elapsed_ms"`
			Load    float64   `json:"load_ms"`
			Store   float64   `json:"samples_ms"`
			Beats   float64   `json:"heartbeats_ms"`
			Error   string    `json:"error"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		s.mu.Lock()
		if !s.windowFrom.IsZero() && !line.Time.Before(s.windowFrom) {
			switch {
			case line.Msg == "sim tick":
				s.ticks = append(s.ticks, line.Elapsed)
				s.tickParts[0] = append(s.tickParts[0], line.Load)
				s.tickParts[1] = append(s.tickParts[1], line.Store)
				s.tickParts[2] = append(s.tickParts[2], line.Beats)
			case line.Msg == "sim tick failed":
				s.tickFailures = append(s.tickFailures, line.Error)
			case line.Level == "ERROR":
				s.errors++
			}
		}
		s.mu.Unlock()
	}
}

func (s *benchServer) markWindow() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.windowFrom = time.Now()
	s.cpu0 = procCPUSeconds(s.cmd.Process.Pid)
}

func (s *benchServer) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// procCPUSeconds is a process's user plus system CPU time so far.
func procCPUSeconds(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	rest := string(raw[bytes.LastIndexByte(raw, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}

// procRSS is a process's resident set size in bytes.
func procRSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// series is a set of measurements.
type series struct {
	mu sync.Mutex
	v  []float64
}

func (s *series) add(v float64) { s.mu.Lock(); s.v = append(s.v, v); s.mu.Unlock() }

func (s *series) quantile(q float64) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return quantile(s.v, q)
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	c := slices.Clone(v)
	slices.Sort(c)
	return c[min(len(c)-1, int(math.Ceil(q*float64(len(c))))-1+boolInt(q == 0))]
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sampleLag records, every two seconds, how far the newest stored sample trails
// the clock.
func sampleLag(ctx context.Context, pool *pgxpool.Pool, lag *series) {
	for {
		var secs float64
		if err := pool.QueryRow(ctx, `SELECT extract(epoch FROM now() - max(ts)) FROM host_latest`).Scan(&secs); err == nil {
			lag.add(secs)
		}
		if sleepCtx(ctx, 2*time.Second) != nil {
			return
		}
	}
}

// queryStats are one query's latencies (ms) and failures in the window.
type queryStats struct {
	series
	failures  int
	lastError string
}

// drive is one closed-loop client: it sends the queries in turn (each worker
// starting at a different one), spreading them over the servers, until ctx ends.
func (b *fleetBench) drive(ctx context.Context, client *http.Client, servers []*benchServer, token string,
	queries []benchQuery, stats []*queryStats, worker int) {
	cursors := map[int]any{}
	for i := worker; ctx.Err() == nil; i++ {
		qi := i % len(queries)
		q := queries[qi]
		srv := servers[i%len(servers)]
		vars := q.Vars
		if q.Walk != nil {
			vars = map[string]any{}
			for k, v := range q.Vars {
				vars[k] = v
			}
			vars["after"] = cursors[qi]
		}
		body, _ := json.Marshal(map[string]any{"query": q.Query, "variables": vars})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.url+"/query", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		began := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				stats[qi].fail(err.Error())
			}
			continue
		}
		var out struct {
			Data   map[string]any   `json:"data"`
			Errors []map[string]any `json:"errors"`
		}
		decErr := json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		ms := float64(time.Since(began).Microseconds()) / 1000
		switch {
		case ctx.Err() != nil:
			return
		case resp.StatusCode != http.StatusOK || decErr != nil || len(out.Errors) > 0:
			stats[qi].fail(fmt.Sprintf("HTTP %d %v", resp.StatusCode, out.Errors))
		default:
			stats[qi].add(ms)
		}
		if q.Walk != nil {
			var cur any = out.Data
			for _, k := range q.Walk {
				m, _ := cur.(map[string]any)
				cur = m[k]
			}
			pi, _ := cur.(map[string]any)
			if more, _ := pi["hasNextPage"].(bool); more {
				cursors[qi] = pi["endCursor"]
			} else {
				cursors[qi] = nil
			}
		}
	}
}

func (s *queryStats) fail(msg string) {
	s.mu.Lock()
	s.failures++
	s.lastError = msg
	s.mu.Unlock()
}

// report prints the measured table.
func (b *fleetBench) report(ctx context.Context, pool *pgxpool.Pool, queries []benchQuery, stats []*queryStats,
	lag *series, servers []*benchServer, began time.Time, window time.Duration, size0, size1 int64) {
	w := b.out
	secs := window.Seconds()
	fmt.Fprintf(w, "\n### %d hosts, %d clusters (largest %d), %d replicas, ticker every %s, %d query workers, %s measured\n\n",
		b.Hosts, b.Clusters, b.Largest, len(servers), b.Interval, b.Workers, window.Round(time.Second))
	fmt.Fprintln(w, "| query | source | p50 ms | p95 ms | p99 ms | per s | failed |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|")
	var all []float64
	for i, q := range queries {
		s := stats[i]
		s.mu.Lock()
		v := slices.Clone(s.v)
		failed, last := s.failures, s.lastError
		s.mu.Unlock()
		all = append(all, v...)
		fmt.Fprintf(w, "| %s | %s | %.1f | %.1f | %.1f | %.2f | %d |\n", q.Name, q.Source,
			quantile(v, 0.5), quantile(v, 0.95), quantile(v, 0.99), float64(len(v))/secs, failed)
		if failed > 0 {
			fmt.Fprintf(b.out, "<!-- %s last error: %.200s -->\n", q.Name, last)
		}
	}
	fmt.Fprintf(w, "| **all** | | %.1f | %.1f | %.1f | %.2f | |\n\n", quantile(all, 0.5), quantile(all, 0.95), quantile(all, 0.99), float64(len(all))/secs)

	fmt.Fprintln(w, "| measure | value |")
	fmt.Fprintln(w, "|---|---|")
	fmt.Fprintf(w, "| ingest lag (now − newest stored sample; samples are stamped at the start of their %s slot) | p50 %.1f s, max %.1f s |\n",
		b.Interval, lag.quantile(0.5), lag.quantile(1))
	for i, s := range servers {
		s.mu.Lock()
		ticks, failures, errs := slices.Clone(s.ticks), slices.Clone(s.tickFailures), s.errors
		parts := s.tickParts
		cpu0 := s.cpu0
		s.mu.Unlock()
		pid := s.cmd.Process.Pid
		cpu := (procCPUSeconds(pid) - cpu0) / secs
		if s.ticker {
			fmt.Fprintf(w, "| replica %d: ticks (%d hosts each) | %d, p50 %.0f ms, max %.0f ms, %d failed; p50 of its parts: "+
				"load hosts + compute %.0f ms, store samples %.0f ms, heartbeats %.0f ms |\n",
				i+1, b.Hosts, len(ticks), quantile(ticks, 0.5), quantile(ticks, 1), len(failures),
				quantile(parts[0], 0.5), quantile(parts[1], 0.5), quantile(parts[2], 0.5))
			for _, f := range failures[:min(3, len(failures))] {
				fmt.Fprintf(w, "| replica %d: tick failure | %.150s |\n", i+1, f)
			}
		}
		fmt.Fprintf(w, "| replica %d: RSS, CPU | %.0f MiB, %.2f cores; %d error log lines |\n", i+1, float64(procRSS(pid))/(1<<20), cpu, errs)
		subs := fmt.Sprintf("%d platformPulse, %d hostStateChanged events", s.subs.pulses.Load(), s.subs.hostStates.Load())
		if f, _ := s.subs.failure.Load().(string); f != "" {
			subs += "; stopped early: " + f
		}
		fmt.Fprintf(w, "| replica %d: subscriptions delivered | %s |\n", i+1, subs)
	}
	b.reportJobs(ctx, pool, w, began)
	fmt.Fprintf(w, "| PostgreSQL database size | %.2f GiB at the start of the window, +%.0f MiB during it |\n",
		float64(size0)/(1<<30), float64(size1-size0)/(1<<20))
}

// reportJobs summarises the scheduler's runs in the window: how many, on which
// replicas, how long the rollup took, and how late runs started.
func (b *fleetBench) reportJobs(ctx context.Context, pool *pgxpool.Pool, w io.Writer, since time.Time) {
	rows, err := pool.Query(ctx, `SELECT job, replica, started_at, coalesce(finished_at, now()), error, details
		FROM scheduler_run WHERE started_at >= $1 ORDER BY job, started_at`, since)
	if err != nil {
		fmt.Fprintf(w, "| scheduler runs | error: %v |\n", err)
		return
	}
	type run struct {
		job, replica, err string
		start, end        time.Time
		details           map[string]any
	}
	var runs []run
	var r run
	_, err = pgx.ForEachRow(rows, []any{&r.job, &r.replica, &r.start, &r.end, &r.err, &r.details}, func() error {
		runs = append(runs, r)
		return nil
	})
	if err != nil {
		fmt.Fprintf(w, "| scheduler runs | error: %v |\n", err)
		return
	}
	byJob := map[string][]run{}
	for _, r := range runs {
		byJob[r.job] = append(byJob[r.job], r)
	}
	rollupEvery := b.cfg.Jobs.Schedules[jobs.NameWatermarkRollup].Interval
	if rollupEvery == 0 {
		rollupEvery = time.Minute
	}
	for _, job := range slices.Sorted(func(yield func(string) bool) {
		for k := range byJob {
			if !yield(k) {
				return
			}
		}
	}) {
		rs := byJob[job]
		replicas := map[string]bool{}
		var durs, late []float64
		failed := 0
		for i, r := range rs {
			replicas[r.replica] = true
			durs = append(durs, r.end.Sub(r.start).Seconds())
			if r.err != "" {
				failed++
			}
			if i > 0 && job == jobs.NameWatermarkRollup {
				late = append(late, max(0, (r.start.Sub(rs[i-1].start)-rollupEvery).Seconds()))
			}
		}
		line := fmt.Sprintf("%d runs on %d replica(s), %d failed, duration p50 %.2f s, max %.2f s", len(rs), len(replicas), failed,
			quantile(durs, 0.5), quantile(durs, 1))
		if job == jobs.NameWatermarkRollup && len(late) > 0 {
			line += fmt.Sprintf(", start lateness vs every %s: max %.1f s", rollupEvery, quantile(late, 1))
		}
		fmt.Fprintf(w, "| job %s | %s |\n", job, line)
	}
	if len(runs) == 0 {
		fmt.Fprintln(w, "| scheduler runs | none in the window |")
	}
}
