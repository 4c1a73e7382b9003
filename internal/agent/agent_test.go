package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeServer is the server side of the protocol, in memory, with switches
// to make it fail.
type fakeServer struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	token      string
	creds      map[string]bool
	registers  int
	beats      []Heartbeat
	samples    []Sample
	faults     []Fault
	down       bool // answer 503 to samples
	retryAfter string
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{t: t, token: "enroll-secret", creds: map[string]bool{}}
	mux := http.NewServeMux()
	bearer := func(r *http.Request) string { return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ") }
	fail := func(w http.ResponseWriter, status int, msg string) {
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	mux.HandleFunc("POST /api/v1/agents/register", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if bearer(r) != f.token {
			fail(w, 401, "enrollment token expired")
			return
		}
		var facts Facts
		require.NoError(t, json.NewDecoder(r.Body).Decode(&facts))
		f.registers++
		cred := "cred-" + string(rune('a'+f.registers))
		clear(f.creds)
		f.creds[cred] = true
		_ = json.NewEncoder(w).Encode(Registration{HostID: 7, Hostname: facts.Hostname, Cluster: "c1", Credential: cred,
			SampleIntervalSeconds: 60, HeartbeatIntervalSeconds: 1,
			Components: []ComponentSpec{{Service: "hdfs", Component: "DATANODE", Process: "proc_datanode"}}})
	})
	mux.HandleFunc("POST /api/v1/agents/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.creds[bearer(r)] {
			fail(w, 401, "credential revoked")
			return
		}
		var hb Heartbeat
		require.NoError(t, json.NewDecoder(r.Body).Decode(&hb))
		f.beats = append(f.beats, hb)
		_ = json.NewEncoder(w).Encode(HeartbeatAnswer{HeartbeatIntervalSeconds: 1, SampleIntervalSeconds: 60,
			Components: []ComponentSpec{{Service: "hdfs", Component: "DATANODE", Process: "proc_datanode"}}})
	})
	mux.HandleFunc("POST /api/v1/metrics/hosts", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.down {
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			fail(w, 503, "database restarting")
			return
		}
		if !f.creds[bearer(r)] {
			fail(w, 401, "credential revoked")
			return
		}
		sc := bufio.NewScanner(r.Body)
		n := 0
		for sc.Scan() {
			var s Sample
			require.NoError(t, json.Unmarshal(sc.Bytes(), &s))
			f.samples = append(f.samples, s)
			n++
		}
		_ = json.NewEncoder(w).Encode(IngestAnswer{Accepted: int64(n), Lines: int64(n)})
	})
	mux.HandleFunc("POST /api/v1/hardware/faults", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.creds[bearer(r)] {
			fail(w, 401, "credential revoked")
			return
		}
		var body struct{ Faults []Fault }
		require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
		f.faults = append(f.faults, body.Faults...)
		_ = json.NewEncoder(w).Encode(FaultsAnswer{Accepted: len(body.Faults)})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeServer) set(fn func(f *fakeServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeServer) read(fn func(f *fakeServer) bool) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fn(f)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out waiting: %s", what)
		time.Sleep(20 * time.Millisecond)
	}
}

// startAgent runs an agent on the fixture host until stop is called or the
// test ends; stop returns Run's error.
func startAgent(t *testing.T, cfg Config) (stop func() error) {
	t.Helper()
	a, err := New(cfg, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func testConfig(t *testing.T, server string, stateDir string) Config {
	return Config{Server: server, EnrollToken: "enroll-secret", StateDir: stateDir, Hostname: "web-01",
		SampleInterval: time.Second, SampleIntervalSet: true, HeartbeatInterval: time.Second,
		HardwareInterval: time.Hour, SpoolMaxBytes: 1 << 20, Timeout: 2 * time.Second, Paths: fixtureHost(t)}
}

// contiguous reports whether the sample timestamps are distinct and one
// second apart, in order.
func contiguous(t *testing.T, samples []Sample) {
	t.Helper()
	var prev time.Time
	for i, s := range samples {
		ts, err := time.Parse(time.RFC3339, s.TS)
		require.NoError(t, err)
		if i > 0 {
			require.Equal(t, time.Second, ts.Sub(prev), "sample %d (%s) follows %s", i, s.TS, prev.Format(time.RFC3339))
		}
		prev = ts
	}
}

func TestAgentSpoolsThroughAnOutageAndReplaysInOrder(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	state := t.TempDir()
	cfg := testConfig(t, f.srv.URL, state)
	stop := startAgent(t, cfg)
	eventually(t, 10*time.Second, "two samples", func() bool { return f.read(func(f *fakeServer) bool { return len(f.samples) >= 2 }) })
	eventually(t, 10*time.Second, "an EDAC fault", func() bool { return f.read(func(f *fakeServer) bool { return len(f.faults) == 1 }) })

	// The credential is kept private.
	info, err := os.Stat(filepath.Join(state, credentialFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// The server fails for three seconds: samples wait in the spool.
	f.set(func(f *fakeServer) { f.down, f.retryAfter = true, "1" })
	var before int
	f.read(func(f *fakeServer) bool { before = len(f.samples); return true })
	eventually(t, 10*time.Second, "a heartbeat reporting a queued batch", func() bool {
		return f.read(func(f *fakeServer) bool { return len(f.beats) > 0 && f.beats[len(f.beats)-1].Spool.QueuedBatches > 0 })
	})
	time.Sleep(2 * time.Second) // the outage: the agent must keep sampling through it
	f.set(func(f *fakeServer) { f.down = false })
	eventually(t, 15*time.Second, "the spool replayed", func() bool {
		return f.read(func(f *fakeServer) bool { return len(f.samples) >= before+4 })
	})
	// A restart reuses the credential: no second registration, and the
	// samples go on where they stopped.
	require.NoError(t, stop())
	startAgent(t, cfg)
	eventually(t, 10*time.Second, "samples after the restart", func() bool {
		return f.read(func(f *fakeServer) bool { return len(f.samples) >= before+6 })
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Equal(t, 1, f.registers)
	for _, s := range f.samples {
		require.Equal(t, "web-01", s.Hostname)
		require.NotNil(t, s.Mem)
	}
	// Through the outage nothing is lost or doubled: one sample a second.
	// (The restart may leave a gap of the seconds the agent was down.)
	var beforeRestart []Sample
	for i, s := range f.samples {
		if i > 0 {
			prev, _ := time.Parse(time.RFC3339, f.samples[i-1].TS)
			cur, _ := time.Parse(time.RFC3339, s.TS)
			require.True(t, cur.After(prev), "samples arrive in order: %s after %s", s.TS, f.samples[i-1].TS)
			if cur.Sub(prev) > time.Second && len(beforeRestart) == 0 {
				beforeRestart = slices.Clone(f.samples[:i])
			}
		}
	}
	if beforeRestart == nil {
		beforeRestart = f.samples
	}
	require.Greater(t, len(beforeRestart), before+2)
	contiguous(t, beforeRestart)
	require.Equal(t, "EDAC_CE", f.faults[0].Kind)
	require.Equal(t, "edac:0f1e2d3c:mc0:ce:3", f.faults[0].SourceRef)
	last := f.beats[len(f.beats)-1]
	require.Equal(t, []ComponentState{{Service: "hdfs", Component: "DATANODE", State: StateStarted, Detail: "pid 4242"}}, last.Components)
}

func TestAgentRegistersAgainWhenItsCredentialIsRevoked(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	startAgent(t, testConfig(t, f.srv.URL, t.TempDir()))
	eventually(t, 10*time.Second, "a heartbeat", func() bool { return f.read(func(f *fakeServer) bool { return len(f.beats) > 0 }) })
	f.set(func(f *fakeServer) { clear(f.creds) }) // the host was registered again elsewhere
	eventually(t, 10*time.Second, "a second registration and beats with its credential", func() bool {
		return f.read(func(f *fakeServer) bool { return f.registers == 2 && len(f.beats) > 2 })
	})
}

func TestAgentStopsWhenRefusedWithoutAnEnrollmentToken(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	state := t.TempDir()
	require.NoError(t, SaveState(state, State{Server: f.srv.URL, Hostname: "web-01", Credential: "old"}))
	stop := startAgent(t, testConfig(t, f.srv.URL, state))
	eventually(t, 10*time.Second, "a heartbeat", func() bool { return f.read(func(f *fakeServer) bool { return len(f.beats) > 0 }) })

	require.NoError(t, stop())
	// A later start without a token: fine while the credential holds...
	f.set(func(f *fakeServer) { clear(f.creds) })
	cfg := testConfig(t, f.srv.URL, state)
	cfg.EnrollToken = ""
	a, err := New(cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	err = a.Run(context.Background())
	// ... and a clear stop once the server refuses it.
	require.ErrorIs(t, err, ErrStopped)
	require.ErrorContains(t, err, "refused the host credential")
	require.ErrorContains(t, err, "no enrollment token")
	require.NoError(t, stop())
}

func TestAgentStopsOnARefusedEnrollmentToken(t *testing.T) {
	t.Parallel()
	f := newFakeServer(t)
	cfg := testConfig(t, f.srv.URL, t.TempDir())
	cfg.EnrollToken = "wrong"
	a, err := New(cfg, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	err = a.Run(context.Background())
	require.ErrorIs(t, err, ErrStopped)
	require.ErrorContains(t, err, "enrollment token expired")
}

func TestClientRetriesOnlyWhatMayPass(t *testing.T) {
	t.Parallel()
	status := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":"nope","field":"hostname"}`))
	}))
	defer srv.Close()
	c := NewClient(srv.URL, time.Second)
	for code, retry := range map[int]bool{500: true, 502: true, 503: true, 429: true, 408: true, 499: true, 400: false, 401: false, 403: false, 404: false, 413: false} {
		status = code
		_, err := c.Samples(context.Background(), "x", []byte("{}\n"))
		require.Error(t, err)
		require.Equal(t, retry, Retryable(err), "status %d", code)
		require.Equal(t, code == 401, Unauthorized(err))
		require.ErrorContains(t, err, "nope (field hostname)")
		require.Equal(t, 7*time.Second, backoff(0, err), "the server's Retry-After is followed")
	}
	// No answer at all: retry.
	_, err := NewClient("http://127.0.0.1:1", time.Second).Samples(context.Background(), "x", nil)
	require.True(t, Retryable(err))
	for i := range 10 {
		d := backoff(i, err)
		require.LessOrEqual(t, d, 30*time.Second)
		require.GreaterOrEqual(t, d, min(time.Second<<min(i, 5), 30*time.Second)/2, "at least half the capped step")
	}
}

func TestStateFileIsMadePrivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, SaveState(dir, State{Server: "http://x", Hostname: "h", Credential: "s3cret"}))
	path := filepath.Join(dir, credentialFile)
	require.NoError(t, os.Chmod(path, 0o644))
	var logs bytes.Buffer
	st, ok, err := LoadState(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "s3cret", st.Credential)
	info, _ := os.Stat(path)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	require.Contains(t, logs.String(), "readable by others")
	require.NotContains(t, logs.String(), "s3cret")
}

func TestConfigFlagsAndErrors(t *testing.T) {
	t.Parallel()
	env := map[string]string{"TESLA_AGENT_SERVER": "http://tesla:8080", "TESLA_AGENT_ENROLL_TOKEN": "tok"}
	c, err := LoadConfig([]string{"--hostname", "h1", "--sample-interval", "10s"}, func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, "http://tesla:8080", c.Server)
	require.Equal(t, 10*time.Second, c.SampleInterval)
	require.True(t, c.SampleIntervalSet)
	require.False(t, c.HeartbeatIntervalSet)
	require.NotContains(t, c.String(), "tok ")
	require.Contains(t, c.String(), "[redacted]")
	require.Equal(t, []string{"systemctl", "reboot"}, c.RebootCommand)
	c, err = LoadConfig([]string{"--hostname", "h1", "--reboot-command", "/usr/sbin/shutdown -r now"}, func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, []string{"/usr/sbin/shutdown", "-r", "now"}, c.RebootCommand)
	_, err = LoadConfig([]string{"--hostname", "h1", "--reboot-command", " "}, func(k string) string { return env[k] })
	require.ErrorContains(t, err, "--reboot-command")
	_, err = LoadConfig([]string{"--server", "tesla:8080", "--sample-interval", "5ms", "--spool-max-bytes", "10"}, func(string) string { return "" })
	require.ErrorContains(t, err, "--server")
	require.ErrorContains(t, err, "--sample-interval")
	require.ErrorContains(t, err, "--spool-max-bytes")
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
