package sim

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db/dbtest"
)

// benchConfig is the default demo fleet, or a fraction of its hosts when
// TESLA_SIM_BENCH_SCALE is set (e.g. 0.1 for a quick run).
func benchConfig(b *testing.B) Config {
	scale := 1.0
	if s := os.Getenv("TESLA_SIM_BENCH_SCALE"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 || v > 10 {
			b.Fatalf("TESLA_SIM_BENCH_SCALE=%q: want a number in (0, 10]", s)
		}
		scale = v
	}
	hosts := max(1, int(float64(DefaultHosts)*scale))
	return Config{Clusters: min(DefaultClusters, hosts), Hosts: hosts, Now: testNow}.withDefaults()
}

// resetFleet empties a seeded benchmark database (timer stopped) and checkpoints,
// so every timed run starts from the same state instead of paying for the
// previous run's dirty pages.
func resetFleet(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `TRUNCATE run_io, lineage_edge, dataset, job_usage_1h, job_run, job, queue_usage, queue,
		host_metric, host_component, host, cluster, stack_version_package,
		service_package, stack_version, stack, person, bu RESTART IDENTITY CASCADE`); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `CHECKPOINT`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSeedDemo measures the whole demo seed (plan, inventory, history COPY,
// commit) in rows of history per second, and, as a baseline in the same run, a
// raw CopyFrom of as many precomputed host_metric rows into the same partitioned
// table: the gap between the two is what generating the fleet costs on top of
// PostgreSQL's own COPY speed.
//
//	go test ./internal/sim/ -run '^$' -bench SeedDemo -benchtime 3x
func BenchmarkSeedDemo(b *testing.B) {
	cfg := benchConfig(b)
	logger := slog.New(slog.DiscardHandler)
	ctx := context.Background()

	b.Run("seed", func(b *testing.B) {
		b.StopTimer()
		pool := dbtest.New(b)
		var rows, runs int64
		var busy, wl time.Duration
		for range b.N {
			resetFleet(b, pool)
			b.StartTimer()
			began := time.Now()
			st, err := Seed(ctx, pool, cfg, logger)
			if err != nil {
				b.Fatal(err)
			}
			busy += time.Since(began)
			b.StopTimer()
			rows += st.Samples
			runs += st.Runs
			wl += st.WorkloadElapsed
		}
		b.ReportMetric(float64(rows)/busy.Seconds(), "rows/s")
		b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
		b.ReportMetric(float64(runs)/float64(b.N), "runs/op")
		b.ReportMetric(float64(wl.Milliseconds())/float64(b.N), "workload-ms/op")
	})

	b.Run("raw_copy", func(b *testing.B) {
		b.StopTimer()
		// Precompute exactly the rows the seed writes, with made-up host ids.
		f := planFleet(cfg)
		ids := make([]int64, len(f.hosts))
		for i := range ids {
			ids[i] = int64(i + 1)
		}
		step := int64(cfg.Step / time.Second)
		last := f.now.Unix()
		first := last - int64(cfg.samplesPerHost()-1)*step
		src := newMetricSource(reportingHosts(f, ids), historyDays(first, last), first, last, step)
		var pre []rawRow
		for src.Next() {
			pre = append(pre, rawRow{src.hostID, src.at, src.s})
		}
		pool := dbtest.New(b)
		if _, err := pool.Exec(ctx, `SELECT ensure_host_metric_partitions($1::date, $2::date)`,
			f.start.Truncate(24*time.Hour), f.now.Add(48*time.Hour)); err != nil {
			b.Fatal(err)
		}
		var rows int64
		var busy time.Duration
		for range b.N {
			if _, err := pool.Exec(ctx, `TRUNCATE host_metric`); err != nil {
				b.Fatal(err)
			}
			if _, err := pool.Exec(ctx, `CHECKPOINT`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			began := time.Now()
			var n int64
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				var err error
				n, err = tx.CopyFrom(ctx, pgx.Identifier{"host_metric"}, metricColumns, newRawSource(pre))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			busy += time.Since(began)
			b.StopTimer()
			rows += n
		}
		b.ReportMetric(float64(rows)/busy.Seconds(), "rows/s")
		b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
	})
}

// metricColumns are host_metric's columns in the order rawSource yields them.
var metricColumns = []string{"host_id", "ts", "cpu_pct", "mem_pct", "disk_io_pct", "net_in_bps", "net_out_bps", "containers"}

type rawRow struct {
	hostID int64
	at     time.Time
	s      sample
}

// rawSource replays precomputed rows with the same zero-allocation value slice
// as metricSource, so the baseline differs from the seed only in generation.
type rawSource struct {
	rows []rawRow
	i    int
	cur  rawRow
	vals []any
}

func newRawSource(rows []rawRow) *rawSource {
	r := &rawSource{rows: rows, i: -1}
	r.vals = []any{&r.cur.hostID, &r.cur.at, &r.cur.s.cpu, &r.cur.s.mem, &r.cur.s.io, &r.cur.s.netIn, &r.cur.s.netOut, &r.cur.s.containers}
	return r
}

func (r *rawSource) Next() bool {
	r.i++
	if r.i >= len(r.rows) {
		return false
	}
	r.cur = r.rows[r.i]
	return true
}

func (r *rawSource) Values() ([]any, error) { return r.vals, nil }
func (r *rawSource) Err() error             { return nil }
