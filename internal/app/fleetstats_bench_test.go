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
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
)

// fleetStatsHosts is the size of BenchmarkFleetHostStats's fleet: 200,000 hosts
// in 200 clusters, one of them holding 20,000.
const fleetStatsHosts = 200_000

// BenchmarkFleetHostStats measures, through the real HTTP handler, the queries
// that count and sum hosts: the platform totals and counts by kind, and the counts
// and capacity beside each of 50 clusters; with, for comparison, the current water
// levels of one cluster and of all 200. It reports each query's median and p95.
// docs/benchmarks.md has the numbers before and after cluster_host_stats.
func BenchmarkFleetHostStats(b *testing.B) {
	counter := &db.QueryCounter{}
	d := dbtest.NewDatabase(b, db.Options{Tracer: counter})
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f := fixture.New(b, d.Pool)
	fixture.Bulk(b, d.Pool, 197, 1)
	for _, sql := range []string{
		// Every fifth host in the first bulk cluster would make it ~40,000; a tenth
		// there gives it 20,000, the rest spread evenly.
		`INSERT INTO host (cluster_id, hostname, rack, cpu_cores, memory_bytes, disk_bytes, nic_bps, state, last_heartbeat)
		 SELECT CASE WHEN g % 10 = 0 THEN (SELECT min(id) FROM cluster WHERE name LIKE 'bulk-%') ELSE c.id END,
		        'fleet-' || lpad(g::text, 6, '0'), 'rack' || (g / 40), 16 * (1 + g % 3), (64 + g % 4 * 64)::bigint << 30, 8e12, 25e9,
		        CASE WHEN g % 20 = 0 THEN 'DEGRADED' WHEN g % 50 = 1 THEN 'OFFLINE' WHEN g % 97 = 2 THEN 'MAINTENANCE' ELSE 'ONLINE' END, now()
		 FROM generate_series(0, ` + strconv.Itoa(fleetStatsHosts-1) + `) g
		 JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM cluster) c ON c.n = g % 200`,
		`INSERT INTO watermark_latest (cluster_id, dimension, ts, used, capacity, p95, max, hosts)
		 SELECT c.id, dim, date_trunc('minute', now()), 10 + (c.id * 7 + length(dim)) % 90, 100, 0.8, 0.95, 1000
		 FROM cluster c CROSS JOIN unnest(ARRAY['CPU','MEMORY','DISK_IO','NET_IN','NET_OUT','CONTAINERS']) dim`,
		`VACUUM ANALYZE`,
	} {
		_, err := d.Pool.Exec(ctx, sql)
		require.NoError(b, err)
	}
	var clusters, hosts int
	require.NoError(b, d.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM cluster), (SELECT count(*) FROM host)`).Scan(&clusters, &hosts))
	require.Equal(b, 200, clusters)
	require.GreaterOrEqual(b, hosts, fleetStatsHosts)

	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(b, err)
	svc := NewServices(d.Pool, logger, cfg)
	defer svc.Close()
	srv := httptest.NewServer(NewServer(cfg, d.Pool, logger, svc, prometheus.NewRegistry()))
	defer srv.Close()
	token := f.Tokens[fixture.Viewer]

	for _, q := range []struct{ name, query string }{
		{"platform_counts_capacity_kinds", `{ platform { hostCounts { total online degraded offline maintenance decommissioned repairing }
			capacity { cpuCores memoryBytes diskBytes nicBitsPerSecond } clustersByKind { kind clusters hosts } } }`},
		{"clusters_50_counts_capacity", `{ clusters(first: 50) { nodes { name hostCounts { total online degraded offline maintenance }
			capacity { cpuCores memoryBytes diskBytes nicBitsPerSecond } } } }`},
		{"cluster_watermarkNow", `{ cluster(name: "bulk-0001") { watermarkNow { dimension utilization threshold status used capacity hosts ts } } }`},
		{"platform_watermarks_200", `{ platform { watermarks { cluster { id name kind } worst { dimension utilization threshold status }
			levels { dimension utilization threshold status used capacity unit hosts ts } } } }`},
	} {
		body, _ := json.Marshal(map[string]any{"query": q.query})
		b.Run(q.name, func(b *testing.B) {
			client := srv.Client()
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
					Data   map[string]json.RawMessage
					Errors []any
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || len(out.Errors) > 0 || len(out.Data) == 0 {
					b.Fatalf("bad response: %v %v", err, out.Errors)
				}
				durations = append(durations, time.Since(start))
			}
			slices.Sort(durations)
			b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(float64(durations[len(durations)*95/100].Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(counter.Count())/float64(b.N), "sql-statements/op")
		})
	}
}
