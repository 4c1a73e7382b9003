package health_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/health"
)

// BenchmarkHealthFleet runs the health job over a fleet the size Tesla is
// built for: 200 clusters of 1,000 hosts (three components each, 5% of
// hosts with a failed one, 2,000 open anomaly episodes, 5,000 open hardware
// faults, a scrape target for every tenth), 100,000 jobs run daily for the
// week (700,000 runs, 1.4 million usage hours, 700,000 bill lines), 2,000
// people in 20 BUs. job/* is one whole run (every level), with each level's
// milliseconds reported: first on empty tables, firstOfDay with the scores
// stored but not the day's history, steady the 5-minutely run that finds
// the scores unchanged. ranking/* and scoresOf100Hosts are the GraphQL reads.
// docs/benchmarks.md records the numbers.
//
//	go test ./internal/health/ -run '^$' -bench BenchmarkHealthFleet -benchtime 3x
func BenchmarkHealthFleet(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	now := time.Now().UTC()
	day := now.Truncate(24 * time.Hour)
	for _, sql := range []string{
		`INSERT INTO bu (name, code) SELECT 'BU ' || g, 'BU' || g FROM generate_series(1, 20) g`,
		`INSERT INTO person (login, name, bu_id) SELECT 'p' || g, 'P ' || g, (SELECT min(id) FROM bu) + g % 20 FROM generate_series(1, 2000) g`,
		`INSERT INTO cluster (name, region, kind, owner_bu_id)
		 SELECT 'c' || g, 'r', (ARRAY['BATCH', 'STREAMING', 'ONLINE'])[1 + g % 3], (SELECT min(id) FROM bu) + g % 20 FROM generate_series(1, 200) g`,
		`INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps, state, last_heartbeat)
		 SELECT c.id, c.name || '-n' || h, 64, 256::bigint << 30, 8e12, 25e9,
		        (ARRAY['ONLINE','ONLINE','ONLINE','ONLINE','ONLINE','ONLINE','ONLINE','ONLINE','DEGRADED','OFFLINE'])[1 + h % 10],
		        @now::timestamptz - make_interval(secs => h % 120)
		 FROM cluster c CROSS JOIN generate_series(1, 1000) h`,
		`INSERT INTO host_latest (host_id, ts, cpu_pct, mem_pct, disk_io_pct)
		 SELECT id, @now::timestamptz - interval '30 seconds', 30 + id % 70, 40 + id % 60, id % 50 FROM host`,
		`INSERT INTO host_component (host_id, service, component, version, actual_state)
		 SELECT h.id, s.service, s.component, '3.2.0', CASE WHEN s.service = 'HDFS' AND h.id % 20 = 0 THEN 'FAILED' ELSE 'STARTED' END
		 FROM host h, (VALUES ('HDFS', 'DATANODE'), ('YARN', 'NODEMANAGER'), ('FLINK', 'TASKMANAGER')) s(service, component)`,
		`INSERT INTO scrape_target (host_id, url, status, failures, last_error)
		 SELECT id, 'http://h' || id || ':9100/metrics', CASE WHEN id % 100 = 0 THEN 'FAILING' ELSE 'UP' END,
		        CASE WHEN id % 100 = 0 THEN 3 ELSE 0 END, '' FROM host WHERE id % 10 = 0`,
		`INSERT INTO anomaly_episode (host_id, cluster_id, metric, kind, severity, started_at, last_seen_at, peak_score, peak_at)
		 SELECT id, cluster_id, 'CPU', 'SELF', (ARRAY['LOW','MEDIUM','HIGH','CRITICAL'])[1 + id % 4], @now, @now, 5, @now
		 FROM host WHERE id % 100 = 7`,
		`INSERT INTO hardware_fault (host_id, component, kind, severity, detected_at, source)
		 SELECT id, 'DISK', 'SMART_FAIL', (ARRAY['LOW','MEDIUM','HIGH','CRITICAL'])[1 + id % 4], @now, 'sim' FROM host WHERE id % 40 = 3`,
		`INSERT INTO watermark_latest (cluster_id, dimension, ts, used, capacity, hosts)
		 SELECT c.id, d, @now, (c.id % 100) * 10, 1000, 1000 FROM cluster c, unnest(ARRAY['CPU', 'MEMORY']) d`,
		`INSERT INTO job (namespace, name, owner_id, cluster_id)
		 SELECT 'bench', 'j' || g, (SELECT min(id) FROM person) + g % 2000, (SELECT min(id) FROM cluster) + g % 200 FROM generate_series(1, 100000) g`,
		`INSERT INTO job_run (job_id, run_uuid, state, started_at, ended_at, nominal_end)
		 SELECT j.id, gen_random_uuid(), CASE WHEN (j.id + d) % 17 = 0 THEN 'FAILED' ELSE 'COMPLETED' END,
		        @day::timestamptz - make_interval(days => d, hours => 3), @day::timestamptz - make_interval(days => d, hours => 1),
		        @day::timestamptz - make_interval(days => d, hours => 1) + make_interval(mins => 30 - (j.id % 40)::int)
		 FROM job j, generate_series(0, 6) d`,
		`INSERT INTO job_usage_1h (job_id, hour, runs, requested_core_seconds, used_core_seconds, requested_memory_byte_seconds, used_memory_byte_seconds)
		 SELECT j.id, @day::timestamptz - make_interval(days => d, hours => k), 1, 36000, 3600 * (1 + j.id % 10), 3600 * 8 * 1073741824.0, 3600 * (j.id % 8) * 1073741824.0
		 FROM job j, generate_series(0, 6) d, generate_series(2, 3) k`,
		`INSERT INTO bill_line (day, cluster_id, resource, job_id, person_id, bu_id, quantity, unit, unit_price, amount)
		 SELECT (@day::timestamptz - make_interval(days => d))::date, j.cluster_id, 'CPU', j.id, j.owner_id, p.bu_id, 10, 'core-hour', 0.05, 0.5 + j.id % 7
		 FROM job j JOIN person p ON p.id = j.owner_id, generate_series(1, 7) d`,
		`ANALYZE`,
	} {
		_, err := pool.Exec(ctx, sql, pgx.NamedArgs{"now": now, "day": day})
		require.NoError(b, err, sql)
	}
	c := health.NewComputer(pool, health.Config{Now: func() time.Time { return now }})
	if os.Getenv("HEALTH_BENCH_DEBUG") != "" {
		c = health.NewComputer(pool, health.Config{Now: func() time.Time { return now },
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	}
	run := func(b *testing.B, reset ...string) {
		var res health.Result
		for b.Loop() {
			if len(reset) > 0 {
				b.StopTimer()
				for _, sql := range reset {
					_, err := pool.Exec(ctx, sql, pgx.NamedArgs{"now": now, "day": day})
					require.NoError(b, err)
				}
				b.StartTimer()
			}
			var err error
			res, err = c.RunOnce(ctx)
			require.NoError(b, err)
		}
		require.Equal(b, 200_000, res.Scored[health.Host])
		require.Equal(b, 100_000, res.Scored[health.Job])
		for _, l := range health.Levels {
			b.ReportMetric(float64(res.Took[l].Milliseconds()), string(l)+"-ms")
		}
	}
	// first: empty tables, every score and history row written (a new
	// installation, or a day's first run, which writes every history row).
	b.Run("job/first", func(b *testing.B) {
		run(b, `TRUNCATE health_score, health_history`, `UPDATE health_run SET computed_at = 'epoch'`)
	})
	// firstOfDay: the scores stored, the day's history not yet: every
	// subject's history row is written.
	b.Run("job/firstOfDay", func(b *testing.B) {
		run(b, `DELETE FROM health_history WHERE day = @day::date`, `UPDATE health_run SET computed_at = @day::timestamptz - interval '1 minute'`)
	})
	// steady: the scores of the last run again; only changed rows are written.
	b.Run("job/steady", func(b *testing.B) { run(b) })
	svc := health.NewService(pool)
	op := auth.WithPrincipal(ctx, &auth.Principal{PersonID: 1, Role: auth.Operator})
	var bu, person, cluster int64
	require.NoError(b, pool.QueryRow(ctx, `SELECT min(id) FROM bu`).Scan(&bu))
	require.NoError(b, pool.QueryRow(ctx, `SELECT min(id) FROM person`).Scan(&person))
	require.NoError(b, pool.QueryRow(ctx, `SELECT min(id) FROM cluster`).Scan(&cluster))
	viewer := auth.WithPrincipal(ctx, &auth.Principal{PersonID: person, BUID: bu, Role: auth.Viewer})
	admin := auth.WithPrincipal(ctx, &auth.Principal{PersonID: person, BUID: bu, Role: auth.BUAdmin, BUSubtree: []int64{bu}})
	for _, c := range []struct {
		name string
		ctx  context.Context
		q    health.RankingQuery
	}{
		{"hosts", op, health.RankingQuery{Level: health.Host, First: 100}},
		{"hostsOfCluster", op, health.RankingQuery{Level: health.Host, ClusterID: &cluster, First: 100}},
		{"jobs", op, health.RankingQuery{Level: health.Job, First: 100}},
		{"jobsOfViewer", viewer, health.RankingQuery{Level: health.Job, First: 100}},
		{"jobsOfBUAdmin", admin, health.RankingQuery{Level: health.Job, First: 100}},
		{"people", op, health.RankingQuery{Level: health.Person, First: 100}},
	} {
		b.Run("ranking/"+c.name, func(b *testing.B) {
			for b.Loop() {
				es, err := svc.Ranking(c.ctx, c.q)
				require.NoError(b, err)
				require.NotEmpty(b, es)
			}
		})
	}
	b.Run("scoresOf100Hosts", func(b *testing.B) {
		ids := make([]int64, 100)
		for i := range ids {
			ids[i] = int64(1 + i*1000)
		}
		for b.Loop() {
			_, err := svc.ScoresOf(op, health.Host, ids)
			require.NoError(b, err)
		}
	})
}
