package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
)

// The host agent with real processes: the tesla binary is built, `tesla
// serve` runs on a private database, and three `tesla agent` processes (each
// with its own state directory and host name) register, sample and beat
// against it. The server is stopped for a while and started again: every
// sample taken meanwhile arrives, once. An agent killed with SIGKILL makes its
// host OFFLINE; started again, it brings it back ONLINE with its stored
// credential. Skipped with -short (it takes about a minute); needs the go
// tool to build the binary.

// teslaBinary builds the tesla binary once per test.
func teslaBinary(t *testing.T) string {
	t.Helper()
	_, err := exec.LookPath("go")
	requireTool(t, "the go tool (to build the tesla binary)", err == nil)
	bin := filepath.Join(t.TempDir(), "tesla")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/teslaops/tesla").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// proc is a process of the test, its output in a file shown on failure.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
}

func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start())
	p := &proc{name: name, cmd: cmd, log: logPath}
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		f.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- %s output (last 3000 bytes):\n%s", name, b[max(0, len(b)-3000):])
		}
	})
	return p
}

// signal sends sig and waits for the process to end.
func (p *proc) signal(sig syscall.Signal) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	_ = p.cmd.Wait()
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		require.True(t, time.Now().Before(deadline), "timed out after %s waiting for %s (now: %s)", within, what, state)
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func TestAgentProcessesAgainstARealServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server and three agents as processes for about a minute")
	}
	t.Parallel()
	bin := teslaBinary(t)
	d := dbtest.NewDatabase(t, db.Options{})
	f := fixture.New(t, d.Pool)
	clusters := make([]string, 0, len(f.Clusters))
	for name := range f.Clusters {
		clusters = append(clusters, name)
	}
	slices.Sort(clusters)
	cluster := clusters[0]
	ctx := context.Background()

	// An enrollment token from the command line, as an operator makes one.
	env := []string{"DATABASE_URL=" + d.URL, "TESLA_LOG_LEVEL=info"}
	cmd := exec.Command(bin, "token", "create", "--scope", "enroll", "--cluster", cluster, "--name", "e2e")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	tokenFile := filepath.Join(t.TempDir(), "enroll-token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(lines[len(lines)-1]+"\n"), 0o600))

	// The server: agents beat every second and sample every second; a host
	// silent for 3 s is OFFLINE (the job runs every heartbeat interval).
	addr := freeAddr(t)
	serverEnv := append(slices.Clone(env), "TESLA_LISTEN="+addr, "TESLA_COOKIE_SECURE=off", "TESLA_SIMULATE=off",
		"TESLA_SCRAPE=off", "TESLA_ANOMALY=off", "TESLA_YARN=off", "TESLA_AGENT_HEARTBEAT_INTERVAL=1s",
		"TESLA_AGENT_SAMPLE_INTERVAL=1s", "TESLA_OFFLINE_MISSED=3")
	url := "http://" + addr
	serve := func(n int) *proc {
		p := startProc(t, fmt.Sprintf("serve-%d", n), bin, serverEnv, "serve")
		waitFor(t, 30*time.Second, "the server to be ready", func() (bool, string) {
			resp, err := http.Get(url + "/readyz")
			if err != nil {
				return false, err.Error()
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, resp.Status
		})
		return p
	}
	server := serve(1)

	hostnames := []string{"e2e-agent-1", "e2e-agent-2", "e2e-agent-3"}
	stateDirs := make([]string, len(hostnames))
	agents := make([]*proc, len(hostnames))
	startAgent := func(i, run int) {
		agents[i] = startProc(t, fmt.Sprintf("%s-run%d", hostnames[i], run), bin, []string{"TESLA_LOG_LEVEL=debug"}, "agent",
			"--server", url, "--enroll-token-file", tokenFile, "--state-dir", stateDirs[i], "--hostname", hostnames[i],
			"--hardware-interval", "1h")
	}
	for i := range hostnames {
		stateDirs[i] = filepath.Join(t.TempDir(), "state")
		startAgent(i, 1)
	}

	// Registration: each machine is one host of the token's cluster, with
	// the facts its agent read, and a credential kept private.
	waitFor(t, 30*time.Second, "three registered hosts", func() (bool, string) {
		n := countRows(t, d.Pool, `SELECT count(*) FROM host h JOIN cluster c ON c.id = h.cluster_id
			WHERE c.name = $1 AND h.hostname = ANY($2) AND h.cpu_cores > 0`, cluster, hostnames)
		return n == 3, fmt.Sprint(n)
	})
	for _, dir := range stateDirs {
		path := filepath.Join(dir, "credential.json")
		waitFor(t, 10*time.Second, "the credential saved", func() (bool, string) {
			_, err := os.Stat(path)
			return err == nil, fmt.Sprint(err)
		})
		info, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	}
	perHost := func() map[string]int64 {
		m := map[string]int64{}
		for _, h := range hostnames {
			m[h] = countRows(t, d.Pool, `SELECT count(*) FROM host_metric m JOIN host h ON h.id = m.host_id WHERE h.hostname = $1`, h)
		}
		return m
	}
	waitFor(t, 30*time.Second, "samples from every agent", func() (bool, string) {
		m := perHost()
		return m[hostnames[0]] >= 3 && m[hostnames[1]] >= 3 && m[hostnames[2]] >= 3, fmt.Sprint(m)
	})

	// The server stops for a while; the agents keep sampling into their
	// spools, and replay them when it is back.
	server.signal(syscall.SIGTERM)
	downAt := time.Now()
	time.Sleep(time.Minute) // the outage the issue names: a whole minute
	upAt := time.Now()
	server = serve(2)
	waitFor(t, 60*time.Second, "samples taken during the outage to arrive", func() (bool, string) {
		for _, h := range hostnames {
			var newest time.Time
			if err := d.Pool.QueryRow(ctx, `SELECT coalesce(max(ts), 'epoch') FROM host_metric m JOIN host h ON h.id = m.host_id
				WHERE h.hostname = $1`, h).Scan(&newest); err != nil {
				return false, err.Error()
			}
			if newest.Before(upAt.Add(2 * time.Second)) {
				return false, h + " newest " + newest.String()
			}
		}
		return true, ""
	})
	for i, h := range hostnames {
		checkSamples(t, d.Pool, h, agents[i].log, downAt, upAt)
	}

	// An agent killed: its host goes OFFLINE; started again, ONLINE.
	hostState := func(h string) string {
		var s string
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT state FROM host WHERE hostname = $1`, h).Scan(&s))
		return s
	}
	agents[0].signal(syscall.SIGKILL)
	waitFor(t, 30*time.Second, hostnames[0]+" OFFLINE", func() (bool, string) {
		s := hostState(hostnames[0])
		return s == "OFFLINE", s
	})
	require.Equal(t, "ONLINE", hostState(hostnames[1]), "the other hosts beat on")
	startAgent(0, 2)
	waitFor(t, 30*time.Second, hostnames[0]+" ONLINE again", func() (bool, string) {
		s := hostState(hostnames[0])
		return s == "ONLINE", s
	})
	b, err := os.ReadFile(agents[0].log)
	require.NoError(t, err)
	require.Contains(t, string(b), "using the stored host credential", "a restart registers no second time")
	require.NotContains(t, string(b), "msg=registered")
	require.Equal(t, int64(3), countRows(t, d.Pool, `SELECT count(*) FROM host WHERE hostname LIKE 'e2e-agent-%'`),
		"no host is duplicated")

	// A clean stop: every agent exits 0 on SIGTERM.
	for i, a := range agents {
		require.NoError(t, a.cmd.Process.Signal(syscall.SIGTERM))
		require.NoError(t, a.cmd.Wait(), "agent %d", i)
	}
	server.signal(syscall.SIGTERM)
	for _, a := range agents {
		b, _ := os.ReadFile(a.log)
		require.NotRegexp(t, regexp.MustCompile(`level=ERROR`), string(b), "%s logged an error", a.name)
	}
}

// spooledRE finds the samples an agent took in its debug log.
var spooledRE = regexp.MustCompile(`msg="sample spooled" ts=(\S+)`)

// checkSamples checks that host h has in the database exactly the samples
// its agent took (its log says which) up to a moment after the outage
// [down, up]: none lost, none doubled, none invented.
func checkSamples(t *testing.T, pool *pgxpool.Pool, h, agentLog string, down, up time.Time) {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT m.ts FROM host_metric m JOIN host h ON h.id = m.host_id
		WHERE h.hostname = $1 ORDER BY m.ts`, h)
	require.NoError(t, err)
	var stored []time.Time
	for rows.Next() {
		var v time.Time
		require.NoError(t, rows.Scan(&v))
		stored = append(stored, v.UTC())
	}
	require.NoError(t, rows.Err())
	b, err := os.ReadFile(agentLog)
	require.NoError(t, err)
	var taken []time.Time
	for _, m := range spooledRE.FindAllStringSubmatch(string(b), -1) {
		ts, err := time.Parse(time.RFC3339, m[1])
		require.NoError(t, err)
		taken = append(taken, ts.UTC())
	}
	require.NotEmpty(t, stored)
	require.True(t, stored[0].Before(down), "%s: samples from before the outage", h)
	require.True(t, stored[len(stored)-1].After(up), "%s: samples from after the outage", h)
	// What the agent took up to the newest stored sample is exactly what is
	// stored (later ones may still be on their way).
	newest := stored[len(stored)-1]
	var want []time.Time
	during := 0
	for _, ts := range taken {
		if !ts.After(newest) {
			want = append(want, ts)
		}
		if ts.After(down) && ts.Before(up) {
			during++
		}
	}
	require.Equal(t, want, stored, "%s: the samples stored are the samples taken, each once", h)
	require.Positive(t, during, "%s: samples were taken during the outage", h)
	t.Logf("%s: %d samples stored from %s to %s, %d of them taken while the server was down (%s)", h, len(stored),
		stored[0].Format(time.TimeOnly), newest.Format(time.TimeOnly), during, up.Sub(down).Round(time.Second))
}
