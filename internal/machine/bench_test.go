package machine

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/telemetry"
)

// seedBench runs sql statements on pool, failing the benchmark on an error.
func seedBench(b *testing.B, pool *pgxpool.Pool, sql ...string) {
	b.Helper()
	for _, q := range sql {
		if _, err := pool.Exec(context.Background(), q); err != nil {
			b.Fatalf("seeding: %v\n%s", err, q)
		}
	}
}

func reportMedian(b *testing.B, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "ms-p95")
}

// benchHosts creates cluster "big" with big hosts and "other" with other hosts,
// interleaved by id as a fleet's clusters are, so the big cluster's rows are
// spread over the tables as in a fleet.
func benchHosts(big, other int) []string {
	total := itoa(big + other)
	return []string{
		`INSERT INTO cluster (name, region, kind) VALUES ('big', 'bench', 'BATCH'), ('other', 'bench', 'ONLINE')`,
		`INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		 SELECT (SELECT id FROM cluster WHERE name = CASE WHEN (h + 1) * ` + itoa(big) + ` / ` + total + ` > h * ` + itoa(big) + ` / ` + total + `
		                                          THEN 'big' ELSE 'other' END),
		        'h' || h, 32, 128::bigint << 30, 4e12, 25e9
		 FROM generate_series(0::bigint, ` + total + ` - 1) h`,
	}
}

// bigCluster returns the big cluster's id and its first host's.
func bigCluster(b *testing.B, pool *pgxpool.Pool, want int) (cluster, host int64) {
	b.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT c.id, min(h.id), count(*) FROM cluster c JOIN host h ON h.cluster_id = c.id
		WHERE c.name = 'big' GROUP BY c.id`).Scan(&cluster, &host, &n); err != nil || n != want {
		b.Fatalf("the big cluster has %d hosts (%v)", n, err)
	}
	return cluster, host
}

func itoa(n int) string { return strconv.Itoa(n) }

// BenchmarkAnalyseFromHourlySums times Analyse of a host in a cluster of 20,000
// (in a table of 50,000 hosts) with a 24-hour window: the host's own 5,760 raw
// samples (one every 15 s) and 20,000 × 25 rows of host_metric_1h, of which it
// reads two per peer. The sums are seeded directly (their running totals are
// not those of the sums, which only the figures, not the cost, would notice):
// deriving them from 20,000 hosts' raw day (115 M rows at 15 s) is not what is
// measured here.
func BenchmarkAnalyseFromHourlySums(b *testing.B) {
	pool := dbtest.New(b)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Role: auth.Viewer})
	now := time.Date(2026, 3, 2, 12, 30, 0, 0, time.UTC)
	seedBench(b, pool, benchHosts(20000, 30000)...)
	seedBench(b, pool,
		`INSERT INTO host_metric_1h (host_id, hour, samples, cpu_sum, cpu_n, mem_sum, mem_n, io_sum, io_n,
			net_in_sum, net_in_n, net_out_sum, net_out_n, containers_sum, containers_n,
			cum_samples, cum_cpu_sum, cum_cpu_n, cum_mem_sum, cum_mem_n, cum_io_sum, cum_io_n,
			cum_net_in_sum, cum_net_in_n, cum_net_out_sum, cum_net_out_n, cum_containers_sum, cum_containers_n)
		 SELECT h.id, '2026-03-01 11:00Z'::timestamptz + k * interval '1 hour', 240,
		        240 * ((h.id * 7 + k) % 100), 240, 240 * (30 + h.id % 60), 240, 240 * (h.id % 80), 240,
		        240 * (h.id % 100) * 1e8, 240, 240 * (h.id % 50) * 1e8, 240, 240 * (h.id % 30), 240,
		        240 * (k + 1), 240 * (k + 1) * 50, 240 * (k + 1), 240 * (k + 1) * (30 + h.id % 60), 240 * (k + 1),
		        240 * (k + 1) * (h.id % 80), 240 * (k + 1), 240 * (k + 1) * (h.id % 100) * 1e8, 240 * (k + 1),
		        240 * (k + 1) * (h.id % 50) * 1e8, 240 * (k + 1), 240 * (k + 1) * (h.id % 30), 240 * (k + 1)
		 FROM generate_series(0, 24) k CROSS JOIN host h ORDER BY k, h.id`,
		`SELECT ensure_host_metric_partitions('2026-03-01', '2026-03-03')`,
		`INSERT INTO host_metric (host_id, ts, cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers)
		 SELECT (SELECT min(h.id) FROM host h JOIN cluster c ON c.id = h.cluster_id WHERE c.name = 'big'),
		        '2026-03-01 12:30Z'::timestamptz + s * interval '15 second', s % 100, 50, 10, 1e9, 1e9, 5
		 FROM generate_series(1, 5760) s`,
		`VACUUM ANALYZE host, host_metric_1h, host_metric`,
	)
	cluster, host := bigCluster(b, pool, 20000)
	s := NewService(pool)
	s.now = func() time.Time { return now }
	facts := HostFacts{ID: host, ClusterID: cluster, Hostname: "h", State: "ONLINE"}
	// cold: the peers' sums read on every request; warm: from the cache, as
	// for every request but the first per cluster and five minutes.
	for _, cold := range []bool{true, false} {
		b.Run(map[bool]string{true: "cold", false: "warm"}[cold], func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				if cold {
					s.peers.entries = nil
				}
				began := time.Now()
				a, err := s.Analyse(ctx, facts, 24*time.Hour)
				times = append(times, time.Since(began))
				if err != nil {
					b.Fatal(err)
				}
				if a.Samples != 5760 || a.Peers[0].PeerMedian == nil {
					b.Fatalf("analysed %d samples, peers %v", a.Samples, a.Peers[0])
				}
			}
			reportMedian(b, times)
		})
	}
}

// rawPeersSQL is the peer statement Analyse ran before host_metric_1h: every
// peer's average and p95 from every raw sample of the window.
const rawPeersSQL = `SELECT m.host_id, count(*),
		avg(m.cpu_pct), percentile_cont(0.95) WITHIN GROUP (ORDER BY m.cpu_pct),
		avg(m.mem_pct), percentile_cont(0.95) WITHIN GROUP (ORDER BY m.mem_pct),
		avg(m.disk_io_pct), percentile_cont(0.95) WITHIN GROUP (ORDER BY m.disk_io_pct),
		avg(100 * m.net_in_bps / NULLIF(h.nic_bps, 0)), percentile_cont(0.95) WITHIN GROUP (ORDER BY 100 * m.net_in_bps / NULLIF(h.nic_bps, 0)),
		avg(100 * m.net_out_bps / NULLIF(h.nic_bps, 0)), percentile_cont(0.95) WITHIN GROUP (ORDER BY 100 * m.net_out_bps / NULLIF(h.nic_bps, 0)),
		avg(m.containers), percentile_cont(0.95) WITHIN GROUP (ORDER BY m.containers)
	FROM host h JOIN host_metric m ON m.host_id = h.id AND m.ts > $2 AND m.ts <= $3
	WHERE h.cluster_id = $1 GROUP BY m.host_id`

// BenchmarkPeersFromRawSamples times, for comparison, the former peer statement
// over raw samples and the new one over hourly sums on the same data: a cluster
// of 2,000 hosts (in a table of 5,000) with 24 hours of one sample a minute
// (2.88 M raw rows for the cluster). The raw statement's cost grows with the
// cluster's samples: ×10 for 20,000 hosts, ×4 again at one sample every 15 s.
func BenchmarkPeersFromRawSamples(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	seedBench(b, pool, benchHosts(2000, 3000)...)
	seedBench(b, pool,
		`SELECT ensure_host_metric_partitions('2026-03-01', '2026-03-03')`,
		`INSERT INTO host_metric (host_id, ts, cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers)
		 SELECT h.id, '2026-03-01 12:00Z'::timestamptz + s * interval '1 minute' - interval '17 second',
		        (h.id * 7 + s) % 100, 30 + h.id % 60, h.id % 80, (h.id % 100) * 1e8, (h.id % 50) * 1e8, h.id % 30
		 FROM generate_series(1, 1440) s CROSS JOIN host h JOIN cluster c ON c.id = h.cluster_id
		 WHERE c.name = 'big' ORDER BY s, h.id`,
		`INSERT INTO host_hour_dirty SELECT '2026-03-01 12:00Z'::timestamptz + k * interval '1 hour' FROM generate_series(0, 23) k`,
		`VACUUM ANALYZE host, host_metric`,
	)
	if _, err := telemetry.RollupHostHours(ctx, pool, telemetry.HostHoursConfig{Now: func() time.Time { return now.Add(time.Hour) }}); err != nil {
		b.Fatal(err)
	}
	seedBench(b, pool, `VACUUM ANALYZE host_metric_1h`)
	cluster, _ := bigCluster(b, pool, 2000)
	for _, c := range []struct {
		name string
		run  func() (int, error)
	}{
		{"raw", func() (int, error) {
			rows, err := pool.Query(ctx, rawPeersSQL, cluster, now.Add(-24*time.Hour), now)
			if err != nil {
				return 0, err
			}
			n := 0
			for rows.Next() {
				n++
			}
			return n, rows.Err()
		}},
		{"hourly", func() (int, error) {
			a, err := telemetry.ClusterHourAverages(ctx, pool, cluster, now.Add(-24*time.Hour), now)
			return len(a), err
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				began := time.Now()
				n, err := c.run()
				times = append(times, time.Since(began))
				if err != nil || n != 2000 {
					b.Fatalf("%d peers (%v)", n, err)
				}
			}
			reportMedian(b, times)
		})
	}
}

// BenchmarkRollupHostHour times RollupHostHours deriving one hour of 10,000
// hosts sampled every 15 s (2.4 M raw rows) into empty sums: the host-hours
// job's work once an hour, which grows with the fleet (×25 at 250,000 hosts).
func BenchmarkRollupHostHour(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	seedBench(b, pool, benchHosts(2000, 8000)...)
	seedBench(b, pool,
		`SELECT ensure_host_metric_partitions('2026-03-01', '2026-03-02')`,
		`INSERT INTO host_metric (host_id, ts, cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers)
		 SELECT h.id, '2026-03-01 12:00Z'::timestamptz + s * interval '15 second',
		        (h.id * 7 + s) % 100, 30 + h.id % 60, h.id % 80, (h.id % 100) * 1e8, (h.id % 50) * 1e8, h.id % 30
		 FROM generate_series(0, 239) s CROSS JOIN host h ORDER BY s, h.id`,
		`VACUUM ANALYZE host_metric`,
	)
	cfg := telemetry.HostHoursConfig{Now: func() time.Time { return time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC) }}
	var times []time.Duration
	for b.Loop() {
		b.StopTimer()
		seedBench(b, pool, `TRUNCATE host_metric_1h`, `INSERT INTO host_hour_dirty VALUES ('2026-03-01 12:00Z')`)
		b.StartTimer()
		began := time.Now()
		res, err := telemetry.RollupHostHours(ctx, pool, cfg)
		times = append(times, time.Since(began))
		if err != nil || res.Written != 10000 {
			b.Fatalf("%+v (%v)", res, err)
		}
	}
	reportMedian(b, times)
}
