package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/sim"
)

const benchNestedQuery = `{ clusters(first: 50) { totalCount nodes { id name kind status stackVersion { version }
	hostCounts { total online degraded offline }
	hosts(first: 100) { totalCount nodes { id hostname rack state cpuCores memoryBytes os lastHeartbeat latestMetrics { cpuPercent memoryPercent } } } } } }`

// benchNestedSQL returns the same rows by hand: clusters, their host counts, and
// each cluster's first 100 hosts with their latest sample, in one statement.
const benchNestedSQL = `SELECT c.id, c.name, c.kind, c.status, sv.version, cnt.total, cnt.online, cnt.degraded, cnt.offline, cnt.all_total,
	h.id, h.hostname, h.rack, h.state, h.cpu_cores, h.memory_bytes, h.os, h.last_heartbeat, m.cpu_pct, m.mem_pct
FROM (SELECT * FROM cluster ORDER BY name LIMIT 50) c
LEFT JOIN stack_version sv ON sv.id = c.stack_version_id
CROSS JOIN LATERAL (SELECT count(*) AS total, count(*) FILTER (WHERE state = 'ONLINE') AS online,
	count(*) FILTER (WHERE state = 'DEGRADED') AS degraded, count(*) FILTER (WHERE state = 'OFFLINE') AS offline,
	(SELECT count(*) FROM cluster) AS all_total FROM host WHERE cluster_id = c.id) cnt
CROSS JOIN LATERAL (SELECT * FROM host h WHERE h.cluster_id = c.id ORDER BY h.hostname, h.id LIMIT 100) h
LEFT JOIN LATERAL (SELECT cpu_pct, mem_pct FROM host_metric WHERE host_id = h.id AND ts > now() - interval '1 hour' ORDER BY ts DESC LIMIT 1) m ON true
ORDER BY c.name, h.hostname`

// BenchmarkNestedClustersHosts measures `clusters(first: 50) { hosts(first: 100) }`
// through the real HTTP handler on the default demo fleet (12 clusters, 3,000
// hosts; one day of history), next to one hand-written SQL statement returning the
// same rows. It reports the SQL statements each GraphQL request costs.
func BenchmarkNestedClustersHosts(b *testing.B) {
	counter := &db.QueryCounter{}
	d := dbtest.NewDatabase(b, db.Options{Tracer: counter})
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := sim.Seed(ctx, d.Pool, sim.Config{Days: 1, Now: time.Now().UTC().Truncate(5 * time.Minute)}, logger)
	require.NoError(b, err)
	secret, err := createTokenFor(cliContext(ctx), d.Pool, logger, sim.DemoViewerLogin, auth.Viewer, "bench", 0)
	require.NoError(b, err)
	_, err = d.Pool.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(b, err)
	svc := NewServices(d.Pool, logger, cfg)
	defer svc.Close()
	srv := httptest.NewServer(NewServer(cfg, d.Pool, logger, svc, prometheus.NewRegistry()))
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"query": benchNestedQuery})

	b.Run("graphql", func(b *testing.B) {
		client := srv.Client()
		var hosts int
		counter.Reset()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/query", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+secret)
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var out struct {
				Data struct {
					Clusters struct {
						Nodes []struct {
							Hosts struct{ Nodes []json.RawMessage }
						}
					}
				}
				Errors []any
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err != nil || len(out.Errors) > 0 {
				b.Fatalf("bad response: %v %v", err, out.Errors)
			}
			hosts = 0
			for _, c := range out.Data.Clusters.Nodes {
				hosts += len(c.Hosts.Nodes)
			}
		}
		b.ReportMetric(float64(counter.Count())/float64(b.N), "sql-statements/op")
		b.ReportMetric(float64(hosts), "hosts/op")
	})

	b.Run("handwritten_sql", func(b *testing.B) {
		var n int
		for b.Loop() {
			rows, err := d.Pool.Query(ctx, benchNestedSQL)
			if err != nil {
				b.Fatal(err)
			}
			n = 0
			for rows.Next() {
				n++
			}
			if rows.Err() != nil {
				b.Fatal(rows.Err())
			}
		}
		b.ReportMetric(float64(n), "hosts/op")
	})
}

// BenchmarkPlatformWatermarks200Clusters measures the platform heat table,
// `platform { watermarks { … } }` for 200 clusters, end to end through the HTTP
// handler (authentication, GraphQL, loaders, JSON). The query reads only
// watermark_latest and the clusters, so the bench database holds 200 clusters with
// their current level in all six dimensions; the series tables do not take part.
func BenchmarkPlatformWatermarks200Clusters(b *testing.B) {
	counter := &db.QueryCounter{}
	d := dbtest.NewDatabase(b, db.Options{Tracer: counter})
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := fixture.New(b, d.Pool)
	fixture.Bulk(b, d.Pool, 197, 1)
	_, err := d.Pool.Exec(ctx, `INSERT INTO watermark_latest (cluster_id, dimension, ts, used, capacity, p95, max, hosts)
		SELECT c.id, dim, date_trunc('minute', now()), 10 + (c.id * 7 + length(dim)) % 90, 100, 0.8, 0.95, 40
		FROM cluster c CROSS JOIN unnest(ARRAY['CPU','MEMORY','DISK_IO','NET_IN','NET_OUT','CONTAINERS']) dim`)
	require.NoError(b, err)
	_, err = d.Pool.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(b, err)
	svc := NewServices(d.Pool, logger, cfg)
	defer svc.Close()
	srv := httptest.NewServer(NewServer(cfg, d.Pool, logger, svc, prometheus.NewRegistry()))
	defer srv.Close()
	body, _ := json.Marshal(map[string]any{"query": `{ platform { watermarks {
		cluster { id name kind } worst { dimension utilization threshold status }
		levels { dimension utilization threshold status used capacity unit hosts ts } } } }`})
	token := f.Tokens[fixture.Viewer]
	client := srv.Client()
	var clusters int
	counter.Reset()
	durations := make([]time.Duration, 0, 1024)
	for b.Loop() {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/query", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var out struct {
			Data struct {
				Platform struct{ Watermarks []json.RawMessage }
			}
			Errors []any
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || len(out.Errors) > 0 {
			b.Fatalf("bad response: %v %v", err, out.Errors)
		}
		clusters = len(out.Data.Platform.Watermarks)
		durations = append(durations, time.Since(start))
	}
	if clusters != 200 {
		b.Fatalf("got %d clusters, want 200", clusters)
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(counter.Count())/float64(b.N), "sql-statements/op")
}
