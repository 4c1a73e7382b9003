package ingest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/ingest"
	"github.com/teslaops/tesla/internal/telemetry"
)

// TestIngest1GBPeakMemory streams a 1 GB NDJSON body, generated on the fly through
// an io.Pipe and never stored, through a real HTTP server and the handler, and
// samples the process's memory while it runs. The body (about 7.5 million samples
// over 10,000 hosts) is sent chunked, without a Content-Length. It takes a minute
// and a few GB of disk, so it runs only when asked:
//
//	TESLA_BENCH_1GB=1 go test -run TestIngest1GBPeakMemory -v ./internal/ingest/
//
// TESLA_BENCH_MEMLIMIT_MB=n also sets debug.SetMemoryLimit(n MiB) for the run.
func TestIngest1GBPeakMemory(t *testing.T) {
	if os.Getenv("TESLA_BENCH_1GB") == "" {
		t.Skip("set TESLA_BENCH_1GB=1 to stream a 1 GB body through the handler and measure peak memory")
	}
	if mb, err := strconv.Atoi(os.Getenv("TESLA_BENCH_MEMLIMIT_MB")); err == nil && mb > 0 {
		old := debug.SetMemoryLimit(int64(mb) << 20)
		t.Cleanup(func() { debug.SetMemoryLimit(old) })
		t.Logf("memory limit set to %d MiB", mb)
	}
	const size = 1 << 30
	f := newBenchFleet(t)
	f.t0 = time.Now().UTC().Truncate(time.Hour).Add(-6 * time.Hour) // 7.5M samples / 10k hosts × 10 s ≈ 2 h
	srv := httptest.NewServer(withPrincipalFor(principals["agent"],
		ingest.NewHTTPHandler(f.pool, telemetry.NewWriter(f.pool), slog.New(slog.DiscardHandler), ingest.Config{})))
	defer srv.Close()

	runtime.GC()
	peak := startMemorySampler(t)

	pr, pw := io.Pipe()
	var lines int
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 0, 64<<10)
		written := 0
		for written < size {
			buf = f.appendLine(buf, lines)
			lines++
			if len(buf) > 60<<10 {
				n, err := pw.Write(buf)
				written += n
				if err != nil {
					return
				}
				buf = buf[:0]
			}
		}
		_, _ = pw.Write(buf)
		pw.Close()
	})

	start := time.Now()
	req, err := http.NewRequest(http.MethodPost, srv.URL, pr)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	var out ingest.Response
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	res.Body.Close()
	elapsed := time.Since(start)
	wg.Wait()
	p := peak()

	require.Equal(t, http.StatusOK, res.StatusCode, "%+v", out)
	require.EqualValues(t, lines, out.Accepted, "%+v", out)
	t.Logf("%d samples (%d MiB) in %s: %.0f samples/s, %.1f MiB/s", lines, size>>20, elapsed.Round(time.Millisecond),
		float64(lines)/elapsed.Seconds(), float64(size)/(1<<20)/elapsed.Seconds())
	t.Logf("peak memory: RSS %.1f MiB; Go runtime mapped (total − released) %.1f MiB; heap objects %.1f MiB; goroutine stacks %.1f MiB",
		mib(p.rss), mib(p.mapped), mib(p.heap), mib(p.stacks))
	require.Less(t, p.rss, uint64(150<<20), "peak RSS must stay under 150 MB")
}

type memoryPeak struct{ rss, mapped, heap, stacks uint64 }

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// startMemorySampler samples runtime/metrics and the process's RSS every 5 ms
// until the returned function is called, which returns the peaks.
func startMemorySampler(t *testing.T) func() memoryPeak {
	t.Helper()
	samples := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	var (
		mu   sync.Mutex
		peak memoryPeak
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	take := func() {
		metrics.Read(samples)
		mu.Lock()
		defer mu.Unlock()
		peak.mapped = max(peak.mapped, samples[0].Value.Uint64()-samples[1].Value.Uint64())
		peak.heap = max(peak.heap, samples[2].Value.Uint64())
		peak.stacks = max(peak.stacks, samples[3].Value.Uint64())
		peak.rss = max(peak.rss, readRSS(t))
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				take()
				return
			case <-tick.C:
				take()
			}
		}
	}()
	return func() memoryPeak {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// readRSS returns the process's resident set size from /proc.
func readRSS(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(bytes.TrimSpace(b)))
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		t.Logf("reading RSS: %v", err)
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
