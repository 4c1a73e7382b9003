package anomaly

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// BenchmarkScorerPass times one pass of the fleet's scorer: reading every
// host's newest sample (host_latest), scoring six series per host, storing the
// alerts. TESLA_BENCH_HOSTS sets the fleet (default 20,000; docs quote
// 250,000). Each iteration moves every sample one minute on, so each pass
// scores every host.
func BenchmarkScorerPass(b *testing.B) {
	hosts := 20000
	if v, err := strconv.Atoi(os.Getenv("TESLA_BENCH_HOSTS")); err == nil && v > 0 {
		hosts = v
	}
	pool := dbtest.New(b)
	ctx := context.Background()
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, sql := range []string{
		`INSERT INTO cluster (name, region, kind) SELECT 'c' || c, 'bench', 'BATCH' FROM generate_series(1, 200) c`,
		`INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		 SELECT 1 + (h % 200), 'h' || h, 32, 128::bigint << 30, 4e12, 25e9 FROM generate_series(1, ` + strconv.Itoa(hosts) + `) h`,
		`INSERT INTO host_latest (host_id, ts, cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers)
		 SELECT id, '` + start.Format(time.RFC3339) + `', 30 + id % 20, 50, 10, 1e8, 5e7, 6 FROM host`,
		`VACUUM ANALYZE host, host_latest`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			b.Fatalf("seeding: %v", err)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := start
	s, err := NewScorer(pool, NewEpisodes(pool, audit.New(pool, logger), EpisodeConfig{}), logger, ScorerConfig{Now: func() time.Time { return clock }})
	if err != nil {
		b.Fatal(err)
	}
	minute := 0
	var last Pass
	for b.Loop() {
		b.StopTimer()
		minute++
		clock = start.Add(time.Duration(minute) * time.Minute)
		if _, err := pool.Exec(ctx, `UPDATE host_latest SET ts = $1, cpu_pct = 30 + (host_id + $2) % 20`, clock, minute); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if last, err = s.PassOnce(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(last.Samples), "samples/pass")
	b.ReportMetric(float64(last.Samples)/last.Elapsed.Seconds(), "samples/s")
}
