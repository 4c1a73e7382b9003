package scrape_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/ingest/scrape"
	"github.com/teslaops/tesla/internal/telemetry"
)

// clock is a manual clock: tests move time forward explicitly, so rates and
// back-off delays are exact.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// t0 is deliberately not on a whole second: samples are stored at the second.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 250_000_000, time.UTC)

// exporter serves the recorded node_exporter expositions in testdata; the test
// chooses which one the next request gets.
type exporter struct {
	*httptest.Server
	file     atomic.Value // string
	requests atomic.Int64
}

func newExporter(t *testing.T, file string) *exporter {
	t.Helper()
	e := &exporter{}
	e.file.Store(file)
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		body, err := os.ReadFile(filepath.Join("testdata", e.file.Load().(string)))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(body)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *exporter) serve(file string) { e.file.Store(file) }

func (e *exporter) metricsURL() string { return e.URL + "/metrics" }

type env struct {
	pool  *pgxpool.Pool
	fleet *fixture.Fleet
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pool := dbtest.New(t)
	return &env{pool: pool, fleet: fixture.New(t, pool), clock: &clock{t: t0}}
}

func (e *env) scraper(t *testing.T, cfg scrape.Config) *scrape.Scraper {
	cfg.Now = e.clock.Now
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	return scrape.New(e.pool, telemetry.NewWriter(e.pool), logger, cfg, nil)
}

func (e *env) setURL(t *testing.T, hostname string, url *string) int64 {
	t.Helper()
	id, ok := e.fleet.Hosts[hostname]
	require.True(t, ok, hostname)
	_, err := e.pool.Exec(context.Background(), `UPDATE host SET scrape_url = $2, last_heartbeat = NULL WHERE id = $1`, id, url)
	require.NoError(t, err)
	return id
}

type storedSample struct {
	CPU, Mem, Disk *float32
	NetIn, NetOut  *float64
}

func (e *env) sample(t *testing.T, hostID int64, ts time.Time) storedSample {
	t.Helper()
	var s storedSample
	err := e.pool.QueryRow(context.Background(), `SELECT cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps
		FROM host_metric WHERE host_id = $1 AND ts = $2`, hostID, ts).Scan(&s.CPU, &s.Mem, &s.Disk, &s.NetIn, &s.NetOut)
	require.NoError(t, err, "sample of host %d at %s", hostID, ts)
	return s
}

type targetRow struct {
	URL           string
	Status        string
	Failures      int
	LastError     string
	NextAttemptAt time.Time
	HasCounters   bool
	CountersAt    *time.Time
}

func (e *env) target(t *testing.T, hostID int64) targetRow {
	t.Helper()
	var r targetRow
	err := e.pool.QueryRow(context.Background(), `SELECT url, status, failures, last_error, next_attempt_at,
		counters IS NOT NULL, counters_at FROM scrape_target WHERE host_id = $1`, hostID).
		Scan(&r.URL, &r.Status, &r.Failures, &r.LastError, &r.NextAttemptAt, &r.HasCounters, &r.CountersAt)
	require.NoError(t, err)
	return r
}

func ptr[T any](v T) *T { return &v }

func requireF32(t *testing.T, want float32, got *float32, name string) {
	t.Helper()
	require.NotNil(t, got, name)
	require.InDelta(t, want, *got, 1e-3, name)
}

func requireF64(t *testing.T, want float64, got *float64, name string) {
	t.Helper()
	require.NotNil(t, got, name)
	require.InDelta(t, want, *got, 1e-3, name)
}

// The recorded expositions (testdata/node_exporter_scrape{1..4}.prom: 4 cpus, lo,
// eth0, docker0 and a veth, disks sda and nvme0n1) move by known amounts 15 s
// apart; the expected values below are computed by hand from those deltas.
func TestScrapeTwoScrapesGiveExactRates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	exp := newExporter(t, "node_exporter_scrape1.prom")
	host := e.setURL(t, "online-1-n01", ptr(exp.metricsURL()))
	s := e.scraper(t, scrape.Config{Interval: 15 * time.Second})

	res, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Added)
	require.Equal(t, 1, res.Scraped)
	require.Equal(t, 1, res.Succeeded)
	require.EqualValues(t, 1, res.Accepted)
	require.True(t, res.NextDue.Equal(t0.Add(15*time.Second)), "next due %s", res.NextDue)

	// The first scrape has no rates yet, only memory: 1 − 33.5e9/67e9.
	first := e.sample(t, host, t0.Truncate(time.Second))
	requireF32(t, 50, first.Mem, "mem")
	require.Nil(t, first.CPU)
	require.Nil(t, first.Disk)
	require.Nil(t, first.NetIn)
	require.Nil(t, first.NetOut)
	tr := e.target(t, host)
	require.Equal(t, "UP", tr.Status)
	require.True(t, tr.HasCounters)
	require.NotNil(t, tr.CountersAt)
	require.True(t, tr.CountersAt.Equal(t0.Truncate(time.Microsecond)))

	// Five seconds later nothing is due.
	e.clock.Set(t0.Add(5 * time.Second))
	res, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, res.Scraped)
	require.EqualValues(t, 1, exp.requests.Load())

	exp.serve("node_exporter_scrape2.prom")
	at := t0.Add(15 * time.Second)
	e.clock.Set(at)
	res, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Succeeded)
	require.EqualValues(t, 1, res.Accepted)

	got := e.sample(t, host, at.Truncate(time.Second))
	// cpu: Δidle 12+9+15+6 = 42 of Δtotal 4 × 15 = 60 → 30 % busy.
	requireF32(t, 30, got.CPU, "cpu")
	// mem: 1 − 16.75e9/67e9.
	requireF32(t, 75, got.Mem, "mem")
	// eth0 only: 30,000,000 B in / 7,500,000 B out over 15 s, × 8 bits.
	requireF64(t, 16e6, got.NetIn, "net in")
	requireF64(t, 4e6, got.NetOut, "net out")
	// busiest disk: nvme0n1 9.75 s of 15 s (sda: 3 s).
	requireF32(t, 65, got.Disk, "disk")

	var heartbeat *time.Time
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT last_heartbeat FROM host WHERE id = $1`, host).Scan(&heartbeat))
	require.NotNil(t, heartbeat)
	require.True(t, heartbeat.Equal(at.Truncate(time.Microsecond)), "heartbeat %s", heartbeat)

	var dirty bool
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rollup_dirty WHERE minute = $1)`,
		at.Truncate(time.Minute)).Scan(&dirty))
	require.True(t, dirty, "the written minute is marked for the rollup")
}

func TestScrapeCounterResetSkipsOnlyThatRate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	exp := newExporter(t, "node_exporter_scrape2.prom")
	host := e.setURL(t, "online-1-n02", ptr(exp.metricsURL()))
	s := e.scraper(t, scrape.Config{Interval: 15 * time.Second})
	_, err := s.RunOnce(ctx)
	require.NoError(t, err)

	// Scrape 3: eth0's receive counter restarted from 5,000,000 (interface reset);
	// everything else kept counting.
	exp.serve("node_exporter_scrape3.prom")
	at := t0.Add(15 * time.Second)
	e.clock.Set(at)
	res, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Succeeded)
	got := e.sample(t, host, at.Truncate(time.Second))
	require.Nil(t, got.NetIn, "receive counter went backwards: no rate this time")
	requireF64(t, 8e6, got.NetOut, "net out") // 15,000,000 B × 8 / 15 s
	requireF32(t, 80, got.CPU, "cpu")         // Δidle 4 × 3 of 60
	requireF32(t, 90, got.Mem, "mem")         // 1 − 6.7e9/67e9
	requireF32(t, 10, got.Disk, "disk")       // sda 1.5 s of 15 s
	require.Equal(t, "UP", e.target(t, host).Status)

	// Scrape 4: the reset value is the new baseline.
	exp.serve("node_exporter_scrape4.prom")
	at = t0.Add(30 * time.Second)
	e.clock.Set(at)
	_, err = s.RunOnce(ctx)
	require.NoError(t, err)
	got = e.sample(t, host, at.Truncate(time.Second))
	requireF64(t, 50e6, got.NetIn, "net in")  // 93,750,000 B × 8 / 15 s
	requireF64(t, 1e6, got.NetOut, "net out") // 1,875,000 B × 8 / 15 s
	requireF32(t, 50, got.CPU, "cpu")
	requireF32(t, 60, got.Mem, "mem")
	requireF32(t, 100, got.Disk, "disk") // sda 16 s in 15 s: clamped
}

func TestScrapeFailingTargetsBackOffWhileHealthyOnesAreScraped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	healthy := newExporter(t, "node_exporter_scrape1.prom")

	var recovered atomic.Bool
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if recovered.Load() {
			http.ServeFile(w, r, filepath.Join("testdata", "node_exporter_scrape1.prom"))
			return
		}
		http.Error(w, "collector failed", http.StatusInternalServerError)
	}))
	t.Cleanup(broken.Close)

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs before slow.Close

	notNode := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("<html><body>Please sign in</body></html>\n"))
	}))
	t.Cleanup(notNode.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	refusedURL := "http://" + ln.Addr().String() + "/metrics"
	require.NoError(t, ln.Close())

	okHost := e.setURL(t, "online-1-n01", ptr(healthy.metricsURL()))
	failing := map[int64]string{
		e.setURL(t, "online-1-n02", ptr(broken.URL+"/metrics")):    "HTTP 500",
		e.setURL(t, "online-1-n03", ptr(slow.URL+"/metrics")):      "timeout after 500ms",
		e.setURL(t, "online-1-n04", ptr(refusedURL)):               "connection refused",
		e.setURL(t, "batch-wh-1-n01", ptr(notNode.URL+"/metrics")): "unparsable exposition",
	}

	const interval = 10 * time.Second
	// Concurrency 2 with a target that hangs: the others still get their turn,
	// because each attempt gives up after Timeout.
	s := e.scraper(t, scrape.Config{Interval: interval, Timeout: 500 * time.Millisecond, MaxBackoff: 40 * time.Second, Concurrency: 2})

	at := t0
	for pass, nominal := range []time.Duration{20 * time.Second, 40 * time.Second, 40 * time.Second} {
		e.clock.Set(at)
		began := time.Now()
		res, err := s.RunOnce(ctx)
		require.NoError(t, err)
		require.Less(t, time.Since(began), 5*time.Second, "a hanging target must not hold the pass")
		require.Equal(t, 5, res.Scraped, "pass %d", pass)
		require.Equal(t, 1, res.Succeeded, "pass %d", pass)
		require.Equal(t, 4, res.Failed, "pass %d", pass)

		ok := e.target(t, okHost)
		require.Equal(t, "UP", ok.Status)
		require.Zero(t, ok.Failures)
		require.True(t, ok.NextAttemptAt.Equal(at.Add(interval).Truncate(time.Microsecond)))
		e.sample(t, okHost, at.Truncate(time.Second)) // the healthy host was scraped in this pass

		latest := at
		for id, wantErr := range failing {
			tr := e.target(t, id)
			require.Equal(t, "FAILING", tr.Status, wantErr)
			require.Equal(t, pass+1, tr.Failures, wantErr)
			require.Contains(t, tr.LastError, wantErr)
			require.LessOrEqual(t, len(tr.LastError), 201)
			// next = now + min(interval × 2^failures, max) less up to 10 % jitter.
			delay := tr.NextAttemptAt.Sub(at)
			require.LessOrEqual(t, delay, nominal, wantErr)
			require.GreaterOrEqual(t, delay, nominal*9/10, wantErr)
			if tr.NextAttemptAt.After(latest) {
				latest = tr.NextAttemptAt
			}
		}
		// Every failing target is due again by latest; the healthy one too.
		at = latest
	}

	// The broken target recovers: success resets it to UP.
	recovered.Store(true)
	e.clock.Set(at)
	_, err = s.RunOnce(ctx)
	require.NoError(t, err)
	for id, wantErr := range failing {
		tr := e.target(t, id)
		if wantErr == "HTTP 500" {
			require.Equal(t, "UP", tr.Status)
			require.Zero(t, tr.Failures)
			require.Empty(t, tr.LastError)
		}
	}
}

func TestScrapeURLChangeResetsTargetAndRemovalDeletesIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	oldExp := newExporter(t, "node_exporter_scrape1.prom")
	newExp := newExporter(t, "node_exporter_scrape2.prom")
	host := e.setURL(t, "online-1-n01", ptr(oldExp.metricsURL()))
	other := e.setURL(t, "online-1-n02", ptr(oldExp.metricsURL()))
	decommissioned := e.setURL(t, "batch-wh-1-n07", ptr(oldExp.metricsURL()))
	s := e.scraper(t, scrape.Config{Interval: 15 * time.Second})

	res, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, res.Added, "decommissioned hosts are not scraped")
	require.Equal(t, 2, res.Targets)

	// The URL changes 5 s later: the target starts over and is due at once,
	// although the old schedule said 15 s.
	e.setURL(t, "online-1-n01", ptr(newExp.metricsURL()))
	at := t0.Add(5 * time.Second)
	e.clock.Set(at)
	res, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Changed)
	require.Equal(t, 1, res.Scraped)
	tr := e.target(t, host)
	require.Equal(t, newExp.metricsURL(), tr.URL)
	require.Equal(t, "UP", tr.Status)
	require.True(t, tr.CountersAt.Equal(at.Truncate(time.Microsecond)))
	// The old exporter's counters were dropped: no rate across two exporters.
	got := e.sample(t, host, at.Truncate(time.Second))
	require.Nil(t, got.CPU)
	requireF32(t, 75, got.Mem, "mem")
	require.EqualValues(t, 1, newExp.requests.Load())

	// A failing target whose URL changes loses its back-off too.
	_, err = e.pool.Exec(ctx, `UPDATE scrape_target SET status = 'FAILING', failures = 5, last_error = 'HTTP 500',
		next_attempt_at = $2 WHERE host_id = $1`, other, t0.Add(time.Hour))
	require.NoError(t, err)
	e.setURL(t, "online-1-n02", ptr(newExp.metricsURL()))
	res, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Changed)
	tr = e.target(t, other)
	require.Equal(t, "UP", tr.Status)
	require.Zero(t, tr.Failures)
	require.Empty(t, tr.LastError)

	// Removing the URL deletes the target.
	e.setURL(t, "online-1-n01", nil)
	res, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Removed)
	require.Equal(t, 1, res.Targets)
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM scrape_target WHERE host_id = ANY($1)`,
		[]int64{host, decommissioned}).Scan(&n))
	require.Zero(t, n)

	// So does decommissioning the host.
	_, err = e.pool.Exec(ctx, `UPDATE host SET state = 'DECOMMISSIONED' WHERE id = $1`, other)
	require.NoError(t, err)
	res, err = s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Removed)
	require.Zero(t, res.Targets)
	require.True(t, res.NextDue.IsZero())
}

// Two replicas claiming at the same moment never scrape a target twice.
func TestScrapeConcurrentPassesClaimEachTargetOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	exp := newExporter(t, "node_exporter_scrape1.prom")
	for _, h := range []string{"online-1-n01", "online-1-n02", "online-1-n03", "online-1-n04", "batch-wh-1-n01", "batch-wh-1-n02"} {
		e.setURL(t, h, ptr(exp.metricsURL()))
	}
	a := e.scraper(t, scrape.Config{})
	b := e.scraper(t, scrape.Config{})
	var wg sync.WaitGroup
	results := make([]scrape.Result, 2)
	errs := make([]error, 2)
	for i, s := range []*scrape.Scraper{a, b} {
		wg.Go(func() { results[i], errs[i] = s.RunOnce(ctx) })
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Equal(t, 6, results[0].Scraped+results[1].Scraped)
	require.EqualValues(t, 6, exp.requests.Load())
	require.EqualValues(t, 6, results[0].Accepted+results[1].Accepted)
}

func TestRunScrapesUntilCancelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	exp := newExporter(t, "node_exporter_scrape1.prom")
	host := e.setURL(t, "online-1-n01", ptr(exp.metricsURL()))
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	s := scrape.New(e.pool, telemetry.NewWriter(e.pool), logger, scrape.Config{Interval: 100 * time.Millisecond}, nil)

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	var runErr error
	go func() {
		defer close(stopped)
		runErr = s.Run(ctx)
	}()
	// Registered after dbtest's cleanup, so it runs first: Run never outlives the
	// database, even when an assertion below fails.
	t.Cleanup(func() {
		cancel()
		<-stopped
	})

	// The exporter serves the same exposition every time, so from the second
	// scrape on the rates are exactly zero (the fixture's own samples are not).
	require.Eventually(t, func() bool {
		var n int
		err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM host_metric
			WHERE host_id = $1 AND net_in_bps = 0 AND disk_io_pct = 0`, host).Scan(&n)
		return err == nil && n >= 1
	}, 20*time.Second, 50*time.Millisecond)
	require.GreaterOrEqual(t, exp.requests.Load(), int64(2))
	cancel()
	select {
	case <-stopped:
		require.NoError(t, runErr)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
}

// A pass that outlived its lease must not overwrite the result of the replica
// that re-claimed the target meanwhile.
func TestScrapeStaleClaimDoesNotOverwriteNewerResult(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	var hostID atomic.Int64
	reclaimed := t0.Add(time.Minute)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// While this scrape runs, "another replica" claims and fails the target.
		_, err := e.pool.Exec(r.Context(), `UPDATE scrape_target SET last_attempt_at = $2, status = 'FAILING',
			failures = 7, last_error = 'other replica' WHERE host_id = $1`, hostID.Load(), reclaimed)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.ServeFile(w, r, filepath.Join("testdata", "node_exporter_scrape1.prom"))
	}))
	t.Cleanup(srv.Close)
	host := e.setURL(t, "online-1-n01", ptr(srv.URL+"/metrics"))
	hostID.Store(host)
	s := e.scraper(t, scrape.Config{})

	res, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Succeeded)
	require.EqualValues(t, 1, res.Accepted, "the sample itself is still stored")
	tr := e.target(t, host)
	require.Equal(t, "FAILING", tr.Status)
	require.Equal(t, 7, tr.Failures)
	require.Equal(t, "other replica", tr.LastError)
	require.False(t, tr.HasCounters)
}

// The scraper keeps no partitions of its own: a sample on a day without a
// host_metric partition is stored, the writer creating the day's partition.
func TestScrapeStoresSamplesOnADayWithoutAPartition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	day := time.Date(2024, 7, 9, 13, 0, 0, 0, time.UTC)
	e.clock.Set(day)
	exp := newExporter(t, "node_exporter_scrape1.prom")
	host := e.setURL(t, "online-1-n01", ptr(exp.metricsURL()))
	var exists bool
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT to_regclass('host_metric_20240709') IS NOT NULL`).Scan(&exists))
	require.False(t, exists)

	res, err := e.scraper(t, scrape.Config{}).RunOnce(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Accepted)
	requireF32(t, 50, e.sample(t, host, day).Mem, "mem")
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT to_regclass('host_metric_20240709') IS NOT NULL`).Scan(&exists))
	require.True(t, exists)
}
