package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/watermark"
)

// The fault tests restart, kill and fill a PostgreSQL of their own, started in a
// temporary directory on a free port, never the shared server the other tests
// use. They need PostgreSQL's server binaries; without them they skip, unless
// TESLA_E2E=require (CI installs them), where that is a failure.

// pgCluster is a private PostgreSQL cluster for one test.
type pgCluster struct {
	t     *testing.T
	bin   string
	root  string // owned by the server's user; holds data/ and the socket
	data  string
	port  int
	runAs []string
	URL   string
}

func privatePostgres(t *testing.T) *pgCluster {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		if os.Getenv("TESLA_E2E") == "require" {
			t.Fatal("TESLA_E2E=require but PostgreSQL's server binaries (initdb) are not installed under /usr/lib/postgresql/*/bin")
		}
		t.Skip("PostgreSQL's server binaries (initdb) are not installed: the fault tests need a private cluster to restart and fill")
	}
	slices.Sort(bins)
	c := &pgCluster{t: t, bin: filepath.Dir(bins[len(bins)-1])}
	root, err := os.MkdirTemp("", "tesla-pgfault-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	c.root, c.data = root, filepath.Join(root, "data")
	// initdb refuses to run as root: run the server binaries as postgres.
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			t.Skip("running as root without a postgres user to run the private PostgreSQL as")
		}
		c.runAs = []string{"runuser", "-u", "postgres", "--"}
		require.NoError(t, os.Chmod(root, 0o755))
		out, err := exec.Command("chown", "postgres", root).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c.port = ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	c.run("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	c.start()
	t.Cleanup(func() { _ = c.exec("pg_ctl", "stop", "-m", "immediate", "-D", c.data) })

	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/tesla?sslmode=disable", c.port)
	admin, err := db.Open(context.Background(), fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port), db.Options{MaxConns: 1})
	require.NoError(t, err)
	_, err = admin.Exec(context.Background(), `CREATE DATABASE tesla`)
	admin.Close()
	require.NoError(t, err)
	return c
}

func (c *pgCluster) exec(name string, args ...string) error {
	argv := append(slices.Clone(c.runAs), append([]string{filepath.Join(c.bin, name)}, args...)...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, out)
	}
	return nil
}

func (c *pgCluster) run(name string, args ...string) {
	c.t.Helper()
	require.NoError(c.t, c.exec(name, args...))
}

func (c *pgCluster) start() {
	c.t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c shared_buffers=32MB", c.port, c.root)
	c.run("pg_ctl", "start", "-w", "-D", c.data, "-l", filepath.Join(c.root, "server.log"), "-o", opts)
}

// restart stops the cluster (fast: open connections are cut, as in a failover
// or an operator's restart) and starts it again after down.
func (c *pgCluster) restart(down time.Duration) {
	c.t.Helper()
	c.run("pg_ctl", "stop", "-w", "-m", "fast", "-D", c.data)
	time.Sleep(down) // the outage itself, not a wait for something to happen
	c.start()
}

// open returns a migrated pool on the cluster with a fixture inventory.
func (c *pgCluster) open(t *testing.T) (*pgxpool.Pool, *fixture.Fleet) {
	t.Helper()
	ctx := context.Background()
	pool, err := db.Open(ctx, c.URL, db.Options{MaxConns: 8})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = db.Migrate(ctx, pool)
	require.NoError(t, err)
	return pool, fixture.New(t, pool)
}

// faultServer serves the real handler on pool in this process.
func faultServer(t *testing.T, pool *pgxpool.Pool) *httptest.Server {
	t.Helper()
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	cfg.CookieSecure = false
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := NewServices(pool, logger, cfg)
	srv := httptest.NewServer(NewServer(cfg, pool, logger, svc, prometheus.NewRegistry()))
	t.Cleanup(func() { srv.Close(); svc.Close() })
	return srv
}

func faultIngestToken(t *testing.T, pool *pgxpool.Pool, f *fixture.Fleet) string {
	t.Helper()
	_, tok, err := auth.InsertToken(context.Background(), pool, auth.TokenSpec{PersonID: f.People[fixture.Operator],
		Role: auth.Operator, Scopes: []string{auth.ScopeIngest}})
	require.NoError(t, err)
	return tok
}

// batch is one ingest request: every fixture host at each of a run of seconds,
// distinct from every other batch's.
type batch struct {
	no    int
	body  string
	size  int64
	first time.Time
	last  time.Time
}

func makeBatch(hosts []string, base time.Time, no, seconds int) batch {
	var b strings.Builder
	bt := batch{no: no, first: base.Add(time.Duration(no*seconds) * time.Second)}
	for s := range seconds {
		ts := bt.first.Add(time.Duration(s) * time.Second)
		for i, h := range hosts {
			fmt.Fprintf(&b, `{"host":%q,"ts":%q,"cpu":%d,"mem":50,"containers":%d}`+"\n", h, ts.Format(time.RFC3339), (no+i)%100, i)
			bt.size++
		}
		bt.last = ts
	}
	bt.body = b.String()
	return bt
}

type ingestAnswer struct {
	status     int
	accepted   int64
	duplicates int64
	message    string
}

func postBatch(client *http.Client, url, token string, b batch) (ingestAnswer, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/metrics/hosts", strings.NewReader(b.body))
	if err != nil {
		return ingestAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return ingestAnswer{}, err
	}
	defer resp.Body.Close()
	var out struct {
		Accepted   int64 `json:"accepted"`
		Duplicates int64 `json:"duplicates"`
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return ingestAnswer{resp.StatusCode, out.Accepted, out.Duplicates, string(raw[:min(len(raw), 300)])}, nil
}

func fixtureHostnames(f *fixture.Fleet) []string {
	var hosts []string
	for h := range f.Hosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	return hosts
}

func countRows(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// TestFaultPostgresRestartDuringIngestionAndRollup restarts PostgreSQL while
// samples stream in and a rollup runs: the server reconnects by itself, /readyz
// reports the outage and the recovery, every batch answered 200 is stored, the
// failed ones are stored once when resent, and the rollup catches up with every
// minute, counting every host.
func TestFaultPostgresRestartDuringIngestionAndRollup(t *testing.T) {
	t.Parallel()
	c := privatePostgres(t)
	pool, f := c.open(t)
	srv := faultServer(t, pool)
	token := faultIngestToken(t, pool, f)
	hosts := fixtureHostnames(f)
	ctx := context.Background()
	// Whole minutes in the past, so the rollup may close all of them.
	base := time.Now().UTC().Truncate(time.Minute).Add(-6 * time.Hour)
	client := &http.Client{Timeout: 10 * time.Second}

	// /readyz is polled throughout.
	resp, err := client.Get(srv.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	var readyMu sync.Mutex
	readiness := []int{resp.StatusCode}
	stopReady := make(chan struct{})
	readyDone := make(chan struct{})
	go func() {
		defer close(readyDone)
		for {
			select {
			case <-stopReady:
				return
			case <-time.After(50 * time.Millisecond):
			}
			status := 0
			if resp, err := client.Get(srv.URL + "/readyz"); err == nil {
				status = resp.StatusCode
				resp.Body.Close()
			}
			readyMu.Lock()
			if len(readiness) == 0 || readiness[len(readiness)-1] != status {
				readiness = append(readiness, status)
			}
			readyMu.Unlock()
		}
	}()

	// Batches of one second of every host stream in from a sender; after the 10th
	// is stored, PostgreSQL restarts while the sender goes on and a rollup runs.
	before := countRows(t, pool, `SELECT count(*) FROM host_metric`)
	var mu sync.Mutex
	var ok, failed []batch
	stored := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(ok)
	}
	stopSend := make(chan struct{})
	sendDone := make(chan error, 1)
	sent := 0
	go func() {
		for no := 0; ; no++ {
			select {
			case <-stopSend:
				sendDone <- nil
				return
			default:
			}
			b := makeBatch(hosts, base, no, 1)
			ans, err := postBatch(client, srv.URL, token, b)
			mu.Lock()
			sent = no + 1
			switch {
			case err == nil && ans.status == http.StatusOK && ans.accepted != b.size:
				mu.Unlock()
				sendDone <- fmt.Errorf("batch %d: accepted %d of %d: %s", no, ans.accepted, b.size, ans.message)
				return
			case err == nil && ans.status == http.StatusOK:
				ok = append(ok, b)
			case err == nil && (ans.status != http.StatusServiceUnavailable || !strings.Contains(ans.message, "restarting or unreachable")):
				mu.Unlock()
				sendDone <- fmt.Errorf("batch %d: a database outage must be a clear 503, got %d: %s", no, ans.status, ans.message)
				return
			default:
				failed = append(failed, b)
			}
			mu.Unlock()
			if err != nil || ans.status != http.StatusOK {
				time.Sleep(20 * time.Millisecond) // a client's back-off before its next try
			}
		}
	}()
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for stored() < n {
			select {
			case err := <-sendDone:
				t.Fatalf("the sender stopped: %v", err)
			default:
			}
			require.True(t, time.Now().Before(deadline), "only %d batches stored", stored())
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(10)
	rollup := watermark.NewRollup(pool, watermark.RollupConfig{})
	rollupDone := make(chan error, 1)
	go func() { _, err := rollup.RunOnce(ctx); rollupDone <- err }()
	c.restart(500 * time.Millisecond)
	afterRestart := stored()
	waitFor(afterRestart + 10) // the server reconnected by itself
	close(stopSend)
	require.NoError(t, <-sendDone)
	<-rollupDone // it may fail on the restart; the next run catches up
	close(stopReady)
	<-readyDone
	readyMu.Lock()
	require.Contains(t, readiness, http.StatusServiceUnavailable, "readyz reported the outage: %v", readiness)
	require.Equal(t, http.StatusOK, readiness[len(readiness)-1], "readyz recovered: %v", readiness)
	readyMu.Unlock()
	t.Logf("%d batches sent, %d failed during the restart; readiness went %v", sent, len(failed), readiness)

	// Every batch answered 200 is stored, each sample once.
	for _, b := range ok {
		require.Equal(t, b.size, countRows(t, pool, `SELECT count(*) FROM host_metric WHERE ts BETWEEN $1 AND $2`, b.first, b.last), "batch %d", b.no)
	}
	// Resending the failed ones is safe: what a failed request stored counts as
	// duplicates, the rest is accepted, nothing is doubled.
	for _, b := range failed {
		ans, err := postBatch(client, srv.URL, token, b)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ans.status, ans.message)
		require.Equal(t, b.size, ans.accepted+ans.duplicates)
	}
	want := before + int64(sent)*int64(len(hosts))
	require.Equal(t, want, countRows(t, pool, `SELECT count(*) FROM host_metric`), "no sample lost or doubled")

	// The rollup catches up: every minute rolled up, with every host counted.
	// (The fixture's own samples are near now; only this test's minutes count.)
	const pending = `SELECT (SELECT count(*) FROM rollup_dirty WHERE minute >= $1 AND minute < $1 + interval '2 hours')
		+ (SELECT count(*) FROM rollup_claim)`
	for range 10 {
		_, err := rollup.RunOnce(ctx)
		require.NoError(t, err)
		if countRows(t, pool, pending, base) == 0 {
			break
		}
	}
	require.Zero(t, countRows(t, pool, pending, base))
	mine := `ts >= $1 AND ts < $1 + interval '2 hours'`
	minutes := countRows(t, pool, `SELECT count(DISTINCT date_trunc('minute', ts)) FROM host_metric WHERE `+mine, base)
	require.Positive(t, minutes)
	require.Equal(t, minutes, countRows(t, pool, `SELECT count(*) FROM watermark_1m WHERE cluster_id = 0 AND dimension = 'CPU' AND `+mine, base))
	require.Zero(t, countRows(t, pool, `SELECT count(*) FROM watermark_1m w WHERE cluster_id = 0 AND dimension = 'CPU' AND `+mine+`
		AND hosts <> (SELECT count(DISTINCT host_id) FROM host_metric m WHERE date_trunc('minute', m.ts) = w.ts)`, base),
		"each minute's level counts every host that reported in it")
}

// TestFaultDiskFullDuringIngestion fills the disk under host_metric (a tablespace
// on a small tmpfs): ingestion answers 503 saying the disk is full, reads keep
// working, everything answered 200 is intact, and once there is room again the
// refused batch goes in.
func TestFaultDiskFullDuringIngestion(t *testing.T) {
	t.Parallel()
	c := privatePostgres(t)
	small := filepath.Join(c.root, "small")
	require.NoError(t, os.Mkdir(small, 0o700))
	// Mounting needs root and a container allowed to mount; where it is not
	// allowed the test skips even under TESLA_E2E=require, since that is the
	// machine's policy, not something missing to install.
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root and permission to mount): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", small).Run() })
	if len(c.runAs) > 0 {
		out, err := exec.Command("chown", "postgres", small).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	pool, f := c.open(t)
	ctx := context.Background()
	// The batches march forward a minute each and must all land in the one day
	// partition moved to the small disk, far from the fixture's samples of the
	// last minutes (which would count as duplicates): a whole day two days ago.
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(-48 * time.Hour)
	_, err := pool.Exec(ctx, `CREATE TABLESPACE small LOCATION '`+small+`'`)
	require.NoError(t, err)
	// The base day's partition and host_metric's future ones live on the small disk.
	_, err = pool.Exec(ctx, `SELECT ensure_host_metric_partitions($1::date, $1::date + 1)`, base)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ALTER TABLE host_metric SET TABLESPACE small`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ALTER TABLE host_metric_`+base.Format("20060102")+` SET TABLESPACE small`)
	require.NoError(t, err)

	srv := faultServer(t, pool)
	token := faultIngestToken(t, pool, f)
	hosts := fixtureHostnames(f)
	client := &http.Client{Timeout: 30 * time.Second}
	var stored []batch
	var refused batch
	var message string
	for no := 0; ; no++ {
		require.Less(t, no, 24*60, "the small disk never filled within the day's partition")
		b := makeBatch(hosts, base, no, 60)
		ans, err := postBatch(client, srv.URL, token, b)
		require.NoError(t, err)
		if ans.status == http.StatusOK {
			require.Equal(t, b.size, ans.accepted)
			stored = append(stored, b)
			continue
		}
		require.Equal(t, http.StatusServiceUnavailable, ans.status, ans.message)
		refused, message = b, ans.message
		break
	}
	require.Contains(t, message, "out of disk space")
	require.NotEmpty(t, stored)

	// Reads keep working, and what was stored is intact.
	e := &testEnv{srv: srv}
	_, vtok, err := auth.InsertToken(ctx, pool, auth.TokenSpec{PersonID: f.People[fixture.Viewer], Role: auth.Viewer})
	require.NoError(t, err)
	r := e.gql(t, vtok, `{ host(hostname: "`+hosts[0]+`") { hostname latestMetrics { ts cpuPercent } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, hosts[0], dig(r.Data, "host", "hostname"))
	for _, b := range stored {
		require.Equal(t, b.size, countRows(t, pool, `SELECT count(*) FROM host_metric WHERE ts BETWEEN $1 AND $2`, b.first, b.last), "batch %d", b.no)
	}
	require.Zero(t, countRows(t, pool, `SELECT count(*) FROM host_metric WHERE ts BETWEEN $1 AND $2`, refused.first, refused.last),
		"the refused batch left nothing behind")

	// Room again: the refused batch goes in whole.
	out, err := exec.Command("mount", "-o", "remount,size=64m", small).CombinedOutput()
	require.NoError(t, err, "%s", out)
	ans, err := postBatch(client, srv.URL, token, refused)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, ans.status, ans.message)
	require.Equal(t, refused.size, ans.accepted)
}

// TestFaultHelperServe is not a test of its own: TestFaultServerKilledDuringIngestion
// runs the test binary again with TESLA_FAULT_SERVE=1 to get a real server in a
// process of its own, which it can kill -9.
func TestFaultHelperServe(t *testing.T) {
	if os.Getenv("TESLA_FAULT_SERVE") != "1" {
		t.Skip("the server process of TestFaultServerKilledDuringIngestion")
	}
	if err := Run(context.Background(), []string{"serve"}, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}

// serverProcess starts the real server on databaseURL in a process of its own
// and waits until it is ready.
func serverProcess(t *testing.T, databaseURL string) (*exec.Cmd, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cmd := exec.Command(os.Args[0], "-test.run=^TestFaultHelperServe$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TESLA_FAULT_SERVE=1", "DATABASE_URL="+databaseURL, "TESLA_LISTEN="+addr,
		"TESLA_SCHEDULER=off", "TESLA_COOKIE_SECURE=off", "TESLA_LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, url
			}
		}
		require.True(t, time.Now().Before(deadline), "the server process did not become ready: %v", err)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFaultServerKilledDuringIngestion kills the server with SIGKILL while two
// clients stream samples: every request answered 200 is stored whole, and the
// requests that got no answer can be resent to a new server safely (what was
// stored counts as duplicates, nothing is doubled).
func TestFaultServerKilledDuringIngestion(t *testing.T) {
	t.Parallel()
	c := privatePostgres(t)
	pool, f := c.open(t)
	token := faultIngestToken(t, pool, f)
	hosts := fixtureHostnames(f)
	base := time.Now().UTC().Truncate(time.Minute).Add(-6 * time.Hour)
	before := countRows(t, pool, `SELECT count(*) FROM host_metric`)
	cmd, url := serverProcess(t, c.URL)

	var mu sync.Mutex
	var ok, unanswered []batch
	sent := 0
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for sender := range 2 {
		wg.Go(func() {
			for no := sender; ; no += 2 {
				b := makeBatch(hosts, base, no, 30)
				ans, err := postBatch(client, url, token, b)
				mu.Lock()
				sent = max(sent, no+1)
				if err == nil && ans.status == http.StatusOK && ans.accepted == b.size {
					ok = append(ok, b)
					mu.Unlock()
					continue
				}
				// No answer (the server died), or an error answer: resend later.
				unanswered = append(unanswered, b)
				mu.Unlock()
				return
			}
		})
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(ok)
		mu.Unlock()
		if n >= 20 {
			break
		}
		require.True(t, time.Now().Before(deadline), "only %d batches stored", n)
		time.Sleep(5 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	wg.Wait()
	_ = cmd.Wait()

	for _, b := range ok {
		require.Equal(t, b.size, countRows(t, pool, `SELECT count(*) FROM host_metric WHERE ts BETWEEN $1 AND $2`, b.first, b.last),
			"batch %d was answered 200, so it is stored", b.no)
	}
	// Batches never sent (a sender stopped early) are the same as unanswered ones.
	seen := map[int]bool{}
	for _, b := range append(slices.Clone(ok), unanswered...) {
		seen[b.no] = true
	}
	for no := range sent {
		if !seen[no] {
			unanswered = append(unanswered, makeBatch(hosts, base, no, 30))
		}
	}
	_, url = serverProcess(t, c.URL)
	var dup int64
	for _, b := range unanswered {
		ans, err := postBatch(client, url, token, b)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, ans.status, ans.message)
		require.Equal(t, b.size, ans.accepted+ans.duplicates, "a resent batch is stored whole, once")
		dup += ans.duplicates
	}
	t.Logf("%d batches answered 200 before the kill, %d resent (%d samples of them were already stored)", len(ok), len(unanswered), dup)
	require.Equal(t, before+int64(sent)*int64(len(hosts))*30, countRows(t, pool, `SELECT count(*) FROM host_metric`),
		"no sample lost or doubled")
}
