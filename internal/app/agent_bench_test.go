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
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/account"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
)

// agentBench is a real server (NewServer, the handler `tesla serve` runs) on a
// database of its own with the standard fixture and serve's pool size, and an
// enrollment token of batch-wh-1.
type agentBench struct {
	srv    *httptest.Server
	pool   *dbtest.Database
	token  string
	client *http.Client
}

// agentBenchClients is how many simulated agents talk to the server at once.
const agentBenchClients = 64

func newAgentBench(b *testing.B) *agentBench {
	b.Helper()
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(b, err)
	// The pool `tesla serve` opens (TESLA_DB_MAX_CONNS, default 20).
	d := dbtest.NewDatabase(b, db.Options{MaxConns: cfg.DBMaxConns})
	fl := fixture.New(b, d.Pool)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := NewServices(d.Pool, logger, cfg)
	b.Cleanup(svc.Close)
	srv := httptest.NewServer(NewServer(cfg, d.Pool, logger, svc, prometheus.NewRegistry()))
	b.Cleanup(srv.Close)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{
		PersonID: fl.People[fixture.Operator], Login: fixture.Operator, Role: auth.Operator, Method: auth.MethodToken})
	_, secret, err := account.NewService(d.Pool, audit.New(d.Pool, logger), 0).CreateEnrollmentToken(ctx,
		account.EnrollmentTokenInput{ClusterID: fl.Clusters["batch-wh-1"], Name: "bench"})
	require.NoError(b, err)
	tr := &http.Transport{MaxIdleConns: agentBenchClients, MaxIdleConnsPerHost: agentBenchClients}
	b.Cleanup(tr.CloseIdleConnections)
	return &agentBench{srv: srv, pool: d, token: secret, client: &http.Client{Transport: tr, Timeout: time.Minute}}
}

// post sends one agent request and returns its status and body.
func (a *agentBench) post(path, secret string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, a.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// registerAll registers hosts prefix-00000… concurrently and returns their
// credentials by index; it fails on the first error.
func (a *agentBench) registerAll(b *testing.B, prefix string, n int) []string {
	creds := make([]string, n)
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		errOne error
	)
	for range agentBenchClients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f := facts(fmt.Sprintf("%s-%05d", prefix, i), fmt.Sprintf("%s-SN%05d", prefix, i))
				body, _ := json.Marshal(f)
				status, out, err := a.post("/api/v1/agents/register", a.token, body)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("register %d: %d %s", i, status, out)
				}
				var resp struct{ Credential string }
				if err == nil {
					err = json.Unmarshal(out, &resp)
				}
				if err != nil {
					mu.Lock()
					errOne = err
					mu.Unlock()
					return
				}
				creds[i] = resp.Credential
			}
		})
	}
	wg.Wait()
	require.NoError(b, errOne)
	return creds
}

// BenchmarkAgentRegisterBurst registers 10,000 agents at once (64 concurrent
// clients) through the real server handler: each a new machine, so each
// creates its host and credential and is audited. The target is under 60 s
// with no error.
//
//	go test -run '^$' -bench BenchmarkAgentRegisterBurst -benchtime 1x ./internal/app/
func BenchmarkAgentRegisterBurst(b *testing.B) {
	a := newAgentBench(b)
	const n = 10_000
	round := 0
	for b.Loop() {
		round++
		start := time.Now()
		creds := a.registerAll(b, fmt.Sprintf("burst%d", round), n)
		elapsed := time.Since(start)
		require.Len(b, creds, n)
		b.ReportMetric(elapsed.Seconds(), "s/10k")
		b.ReportMetric(n/elapsed.Seconds(), "registrations/s")
	}
	var hosts int
	require.NoError(b, a.pool.Pool.QueryRow(context.Background(), `SELECT count(*) FROM host WHERE hostname LIKE 'burst%'`).Scan(&hosts))
	require.Equal(b, n*round, hosts, "one host per machine, never a duplicate")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkAgentHeartbeats measures the heartbeats per second one server
// sustains: 2,000 registered agents, each host running two components, beat
// with a component report each, from 64 concurrent clients, through the real
// server handler (authentication, host and component updates, the component
// list in the answer).
//
//	go test -run '^$' -bench BenchmarkAgentHeartbeats -benchtime 20000x ./internal/app/
func BenchmarkAgentHeartbeats(b *testing.B) {
	a := newAgentBench(b)
	const hosts = 2000
	creds := a.registerAll(b, "beat", hosts)
	_, err := a.pool.Pool.Exec(context.Background(), `INSERT INTO host_component (host_id, service, component, version)
		SELECT h.id, s.service, s.component, '3.2.0' FROM host h
		CROSS JOIN (VALUES ('HDFS', 'DATANODE'), ('YARN', 'NODEMANAGER')) AS s (service, component)
		WHERE h.hostname LIKE 'beat-%'`)
	require.NoError(b, err)
	body, _ := json.Marshal(map[string]any{
		"ts": time.Now().UTC().Format(time.RFC3339), "agent_version": "0.1.0",
		"components": []map[string]any{
			{"service": "HDFS", "component": "DATANODE", "state": "STARTED", "detail": "pid 123"},
			{"service": "YARN", "component": "NODEMANAGER", "state": "STARTED", "detail": "pid 456"},
		},
		"spool": map[string]any{"queued_bytes": 0, "queued_batches": 0, "dropped_batches": 0},
	})
	var (
		next   atomic.Int64
		failed atomic.Int64
	)
	b.SetParallelism(agentBenchClients / max(1, runtimeProcs()))
	// CPU spent, to tell what one replica could do on a box of its own: this
	// process (server and simulated clients) and the database's backends.
	goCPU0, dbCPU0 := processCPU(b, os.Getpid()), backendsCPU(b, a)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)) % hosts
			status, _, err := a.post("/api/v1/agents/heartbeat", creds[i], body)
			if err != nil || status != http.StatusOK {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	goCPU, dbCPU := processCPU(b, os.Getpid())-goCPU0, backendsCPU(b, a)-dbCPU0
	require.Zero(b, failed.Load(), "failed heartbeats")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "heartbeats/s")
	b.ReportMetric(float64(goCPU.Microseconds())/float64(b.N), "go-cpu-µs/beat")
	b.ReportMetric(float64(dbCPU.Microseconds())/float64(b.N), "db-cpu-µs/beat")
}

// processCPU is the user and system CPU time pid has used (Linux /proc).
func processCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0 // a backend that ended
	}
	// Fields after the command (which may hold spaces) start after ") ".
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// backendsCPU is the CPU time used by the database backends of the bench's
// database (its pool's connections).
func backendsCPU(b *testing.B, a *agentBench) time.Duration {
	rows, err := a.pool.Pool.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	require.NoError(b, err)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	require.NoError(b, err)
	var total time.Duration
	for _, pid := range pids {
		total += processCPU(b, int(pid))
	}
	return total
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
