package scrape_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/ingest/scrape"
	"github.com/teslaops/tesla/internal/telemetry"
)

// nodeExporterBinary is where Debian's prometheus-node-exporter package installs
// the exporter.
const nodeExporterBinary = "/usr/bin/prometheus-node-exporter"

// requireNodeExporter returns the path of a real node_exporter, installing the
// Debian package first when TESLA_INSTALL_TEST_DEPS=1 (CI), and skips otherwise:
// a developer machine without the package still gets a green run of the rest.
func requireNodeExporter(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(nodeExporterBinary); err == nil {
		return nodeExporterBinary
	}
	if os.Getenv("TESLA_INSTALL_TEST_DEPS") != "1" {
		t.Skipf("%s not found: install the Debian package prometheus-node-exporter "+
			"(or set TESLA_INSTALL_TEST_DEPS=1 to let the test apt-get it) to run this test", nodeExporterBinary)
	}
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", "prometheus-node-exporter"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "apt-get %s:\n%s", strings.Join(args, " "), out)
	}
	_, err := os.Stat(nodeExporterBinary)
	require.NoError(t, err, "the package installed no %s", nodeExporterBinary)
	return nodeExporterBinary
}

// startNodeExporter runs the exporter on a free loopback port until the test
// ends, and returns its metrics URL once it answers.
func startNodeExporter(t *testing.T, bin string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	// The exporter logs to stderr; kept for the failure message. syncBuffer because
	// exec copies into it from its own goroutine.
	output := &syncBuffer{}
	cmd := exec.Command(bin, "--web.listen-address="+addr)
	cmd.Stdout = output
	cmd.Stderr = output
	dieWithTest(cmd)
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	url := "http://" + addr + "/metrics"
	client := &http.Client{Timeout: 2 * time.Second}
	ready := func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	// Poll until it answers, watching for an early exit (port taken, bad flag).
	deadline := time.Now().Add(15 * time.Second)
	for !ready() {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("node_exporter exited early (%v):\n%s", err, output.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("node_exporter did not answer on %s within 15s:\n%s", addr, output.String())
		}
	}
	return url
}

func TestScrapeRealNodeExporter(t *testing.T) {
	t.Parallel()
	bin := requireNodeExporter(t)
	e := newEnv(t)
	url := startNodeExporter(t, bin)
	host := e.setURL(t, "online-1-n01", &url)
	// Only what the scraper writes may be judged: drop the fixture's samples.
	_, err := e.pool.Exec(context.Background(), `DELETE FROM host_metric WHERE host_id = $1`, host)
	require.NoError(t, err)

	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	s := scrape.New(e.pool, telemetry.NewWriter(e.pool), logger, scrape.Config{Interval: time.Second}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		_ = s.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})

	// A sample with a CPU rate needs two scrapes of the live exporter.
	var got storedSample
	require.Eventually(t, func() bool {
		err := e.pool.QueryRow(context.Background(), `SELECT cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps
			FROM host_metric WHERE host_id = $1 AND cpu_pct IS NOT NULL ORDER BY ts DESC LIMIT 1`, host).Scan(&got.CPU, &got.Mem, &got.Disk, &got.NetIn, &got.NetOut)
		return err == nil
	}, 30*time.Second, 100*time.Millisecond, "no sample with a CPU rate from the real node_exporter")
	cancel()
	<-stopped

	tr := e.target(t, host)
	require.Equal(t, "UP", tr.Status)
	require.NotNil(t, got.CPU)
	require.GreaterOrEqual(t, *got.CPU, float32(0))
	require.LessOrEqual(t, *got.CPU, float32(100))
	require.NotNil(t, got.Mem, "a Linux node_exporter reports MemTotal and MemAvailable")
	require.Greater(t, *got.Mem, float32(0))
	require.LessOrEqual(t, *got.Mem, float32(100))
	if got.Disk != nil { // containers may expose no block devices
		require.GreaterOrEqual(t, *got.Disk, float32(0))
		require.LessOrEqual(t, *got.Disk, float32(100))
	}
	for _, bps := range []*float64{got.NetIn, got.NetOut} {
		if bps != nil { // a sandbox may have no physical-looking NIC
			require.GreaterOrEqual(t, *bps, 0.0)
		}
	}
	t.Logf("real node_exporter: cpu=%.2f%% mem=%.2f%% disk=%v net_in=%v net_out=%v",
		*got.CPU, *got.Mem, deref(got.Disk), deref(got.NetIn), deref(got.NetOut))
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
