package watermark

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// benchStart is the first minute of the benchmark history.
var benchStart = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkRollupMinute times the rollup of one minute of raw samples from
// 100,000 hosts (100 clusters of 1,000), six samples per host (every 10 s):
// 600,000 rows read, averaged per host, aggregated per cluster and for the
// platform, written to watermark_1m/1h/1d/latest. Each iteration starts from
// empty level tables with the minute marked dirty, so it pays for every write.
// Target: under 1 s.
func BenchmarkRollupMinute(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	minute := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, sql := range []string{
		`INSERT INTO cluster (name, region, kind)
		 SELECT 'c' || c, 'bench', (ARRAY['STREAMING','BATCH','ONLINE'])[1 + c % 3] FROM generate_series(1, 100) c`,
		`INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		 SELECT c.id, c.name || '-' || h, 32 + 16 * (h % 4), (128::bigint << 30) * (1 + h % 2), 4e12, 25e9
		 FROM cluster c CROSS JOIN generate_series(1, 1000) h`,
		`SELECT ensure_host_metric_partitions('2026-03-01', '2026-03-02')`,
		// Samples arrive in time order: every host at :00, every host at :10, …
		`INSERT INTO host_metric (host_id, ts, cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers)
		 SELECT h.id, '2026-03-01 12:00Z'::timestamptz + s * interval '10 second',
		        (h.id * 7 + s) % 100, 30 + h.id % 60, h.id % 80, (h.id % 100) * 1e8, (h.id % 50) * 1e8, h.id % 30
		 FROM generate_series(0, 5) s CROSS JOIN host h ORDER BY s, h.id`,
		`VACUUM ANALYZE host_metric_20260301, host`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			b.Fatalf("seeding: %v", err)
		}
	}
	r := NewRollup(pool, RollupConfig{Now: fixedClock(minute.Add(time.Minute))})
	reset := func() {
		for _, sql := range []string{
			`TRUNCATE watermark_1m, watermark_1h, watermark_1d, watermark_latest`,
			`INSERT INTO rollup_dirty (minute) VALUES ('2026-03-01 12:00Z') ON CONFLICT DO NOTHING`,
		} {
			if _, err := pool.Exec(ctx, sql); err != nil {
				b.Fatalf("resetting: %v", err)
			}
		}
	}
	var times []time.Duration
	for b.Loop() {
		b.StopTimer()
		reset()
		b.StartTimer()
		began := time.Now()
		res, err := r.RunOnce(ctx)
		times = append(times, time.Since(began))
		if err != nil {
			b.Fatal(err)
		}
		if res.Minutes != 1 || res.Levels != 101*6 {
			b.Fatalf("rolled up %d minutes, %d levels", res.Minutes, res.Levels)
		}
	}
	reportMedian(b, times)
}

// BenchmarkSeries30dHourly times Series for one cluster, all dimensions, 30 days
// at 1-hour steps (6 × 720 points) on the bench database. Target: median < 10 ms.
func BenchmarkSeries30dHourly(b *testing.B) {
	pool := benchDatabase(b)
	svc := NewService(pool, nil, nil)
	ctx := viewer()
	from := benchStart
	to := from.Add(30 * day)
	var times []time.Duration
	for i := 0; b.Loop(); i++ {
		cluster := int64(1 + i%200)
		began := time.Now()
		series, err := svc.Series(ctx, cluster, nil, from, to, time.Hour, 1000)
		times = append(times, time.Since(began))
		if err != nil {
			b.Fatal(err)
		}
		if len(series) != 7 || len(series[0].Points) != 720 {
			b.Fatalf("got %d series, %d points", len(series), len(series[0].Points))
		}
	}
	reportMedian(b, times)
}

// BenchmarkNow200Clusters times Now for 200 clusters and all dimensions, the
// platform heat table. Target: median < 20 ms.
func BenchmarkNow200Clusters(b *testing.B) {
	pool := benchDatabase(b)
	svc := NewService(pool, nil, nil)
	ctx := viewer()
	ids := make([]int64, 200)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	var times []time.Duration
	for b.Loop() {
		began := time.Now()
		levels, err := svc.Now(ctx, ids, nil)
		times = append(times, time.Since(began))
		if err != nil {
			b.Fatal(err)
		}
		if len(levels) != 200 || len(levels[200]) != 6 {
			b.Fatalf("got %d clusters, %d levels", len(levels), len(levels[200]))
		}
	}
	reportMedian(b, times)
}

// reportMedian adds the median and 95th percentile of the iterations to the
// benchmark's output, since the targets are medians.
func reportMedian(b *testing.B, times []time.Duration) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(times[len(times)*95/100].Microseconds())/1000, "ms-p95")
}

// benchDatabase returns the water-level bench database: 200 clusters with 30
// days of 1-minute levels in all six measured dimensions (51.8M rows), the
// hourly and daily rollups and the latest levels. Seeding takes minutes, so the
// database is built once per process (and schema) and dropped when the test
// binary ends (TestMain) unless TESLA_BENCH_KEEP is set, in which case later
// runs reuse it.
//
// The 1-minute rows are written in primary-key order, with the table unlogged,
// for seeding speed; the benchmarks read the hourly and latest tables, which are
// written in time order like the rollup writes them.
func benchDatabase(b *testing.B) *pgxpool.Pool {
	b.Helper()
	bench.once.Do(func() { bench.pool, bench.name, bench.err = openBenchDatabase(b) })
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.pool
}

// bench is the process's bench database.
var bench struct {
	once sync.Once
	pool *pgxpool.Pool
	name string
	err  error
}

func openBenchDatabase(b *testing.B) (*pgxpool.Pool, string, error) {
	ctx := context.Background()
	fp, err := db.MigrationsFingerprint()
	if err != nil {
		return nil, "", err
	}
	name := "tesla_bench_watermark_" + fp
	admin, err := pgx.Connect(ctx, dbtest.AdminURL())
	if err != nil {
		return nil, "", fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer admin.Close(ctx)
	u, err := url.Parse(dbtest.AdminURL())
	if err != nil {
		return nil, "", err
	}
	u.Path = "/" + name
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return nil, "", err
	}
	if exists {
		pool, err := db.Open(ctx, u.String(), db.Options{})
		if err != nil {
			return nil, "", err
		}
		var seeded bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass('bench_seeded') IS NOT NULL`).Scan(&seeded); err == nil && seeded {
			b.Logf("reusing bench database %s", name)
			return pool, name, nil
		}
		pool.Close()
	}
	if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return nil, "", err
	}
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		return nil, "", err
	}
	pool, err := db.Open(ctx, u.String(), db.Options{})
	if err != nil {
		return nil, "", err
	}
	if _, err := db.Migrate(ctx, pool); err != nil {
		return pool, name, err
	}
	began := time.Now()
	// The level of cluster c, dimension k at minute m: a daily wave, different
	// per cluster and dimension. Hours and days are derived from the same
	// formula so they agree with the minutes.
	const level = `0.45 + 0.25 * sin(%s / 229.18 + c + k)`
	for _, sql := range []string{
		`INSERT INTO cluster (name, region, kind)
		 SELECT 'bench-' || c, 'bench', (ARRAY['STREAMING','BATCH','ONLINE'])[1 + c % 3] FROM generate_series(1, 200) c`,
		`ALTER TABLE watermark_1m SET UNLOGGED`,
		`INSERT INTO watermark_1m (cluster_id, ts, used, capacity, p95, max, hosts, dimension)
		 SELECT c, $1::timestamptz + m * interval '1 minute', v.cap * v.u, v.cap, least(v.u + 0.1, 1), least(v.u + 0.2, 1), 50, d.name
		 FROM generate_series(1, 200) c
		 CROSS JOIN unnest('{CPU,MEMORY,DISK_IO,NET_IN,NET_OUT,CONTAINERS}'::text[]) WITH ORDINALITY AS d (name, k)
		 CROSS JOIN generate_series(0, 30 * 1440 - 1) m
		 CROSS JOIN LATERAL (SELECT ` + fmt.Sprintf(level, "m") + ` AS u, 1000.0 * k AS cap) v`,
		`INSERT INTO watermark_1h (cluster_id, ts, used, capacity, utilization, peak, p95, max, hosts, minutes, dimension)
		 SELECT c, $1::timestamptz + hr * interval '1 hour', v.cap * v.u, v.cap, v.u, least(v.u + 0.05, 1),
		        least(v.u + 0.1, 1), least(v.u + 0.2, 1), 50, 60, d.name
		 FROM generate_series(0, 30 * 24 - 1) hr
		 CROSS JOIN generate_series(1, 200) c
		 CROSS JOIN unnest('{CPU,MEMORY,DISK_IO,NET_IN,NET_OUT,CONTAINERS}'::text[]) WITH ORDINALITY AS d (name, k)
		 CROSS JOIN LATERAL (SELECT ` + fmt.Sprintf(level, "(hr * 60 + 30)") + ` AS u, 1000.0 * k AS cap) v
		 ORDER BY hr, c, k`,
		`INSERT INTO watermark_1d (cluster_id, ts, used, capacity, utilization, peak, p95, max, hosts, minutes, hours, dimension)
		 SELECT c, $1::timestamptz + dd * interval '1 day', v.cap * 0.45, v.cap, 0.45, 0.7, 0.8, 0.9, 50, 1440, 24, d.name
		 FROM generate_series(0, 29) dd
		 CROSS JOIN generate_series(1, 200) c
		 CROSS JOIN unnest('{CPU,MEMORY,DISK_IO,NET_IN,NET_OUT,CONTAINERS}'::text[]) WITH ORDINALITY AS d (name, k)
		 CROSS JOIN LATERAL (SELECT 1000.0 * k AS cap) v
		 ORDER BY dd, c, k`,
		`INSERT INTO watermark_latest (cluster_id, dimension, ts, used, capacity, p95, max, hosts)
		 SELECT cluster_id, dimension, ts, used, capacity, p95, max, hosts FROM watermark_1m
		 WHERE ts = $1::timestamptz + interval '30 days' - interval '1 minute'`,
	} {
		var err error
		if strings.Contains(sql, "$1") {
			_, err = pool.Exec(ctx, sql, benchStart)
		} else {
			_, err = pool.Exec(ctx, sql)
		}
		if err != nil {
			return pool, name, fmt.Errorf("seeding bench database: %w", err)
		}
	}
	for _, sql := range []string{`VACUUM ANALYZE`, `CREATE TABLE bench_seeded ()`} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			return pool, name, err
		}
	}
	var size string
	_ = pool.QueryRow(ctx, `SELECT pg_size_pretty(pg_database_size(current_database()))`).Scan(&size)
	b.Logf("seeded bench database %s (%s) in %s", name, size, time.Since(began).Round(time.Second))
	return pool, name, nil
}

// TestMain drops the bench database after the run unless TESLA_BENCH_KEEP is set.
func TestMain(m *testing.M) {
	code := m.Run()
	if bench.pool != nil {
		bench.pool.Close()
		if os.Getenv("TESLA_BENCH_KEEP") == "" {
			dropDatabase(bench.name)
		}
	}
	os.Exit(code)
}

func dropDatabase(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, dbtest.AdminURL())
	if err != nil {
		fmt.Fprintf(os.Stderr, "dropping bench database %s: %v\n", name, err)
		return
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		fmt.Fprintf(os.Stderr, "dropping bench database %s: %v\n", name, err)
	}
}
