package clustering

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
)

var testNow = time.Date(2026, 5, 4, 12, 30, 0, 0, time.UTC)

// seedProfiles gives every bulk host (4 clusters × 100) a day of hourly sums
// shaped by one of four machine profiles (host id mod 4: compute, storage,
// idle, gateway) with noise, and returns each host's profile.
func seedProfiles(t *testing.T, pool *pgxpool.Pool, seed float64) (map[int64]int, *fixture.Fleet) {
	t.Helper()
	ctx := context.Background()
	f := fixture.New(t, pool)
	fixture.Bulk(t, pool, 4, 100)
	_, err := pool.Exec(ctx, `SELECT setseed($1)`, seed)
	require.NoError(t, err)
	// Per profile: CPU %, memory %, IO %, network in (fraction of the NIC),
	// containers; each hour's mean varies ±15% around the profile, and the
	// compute hosts peak in the afternoon.
	_, err = pool.Exec(ctx, `
		INSERT INTO host_metric_1h (host_id, hour, samples, cpu_sum, cpu_n, mem_sum, mem_n, io_sum, io_n,
		                            net_in_sum, net_in_n, net_out_sum, net_out_n, containers_sum, containers_n)
		SELECT h.id, $1::timestamptz - k * interval '1 hour', 60,
		       60 * p.cpu * (0.85 + 0.3 * random()) * CASE WHEN p.id = 0 AND k BETWEEN 2 AND 6 THEN 1.2 ELSE 1 END, 60,
		       60 * p.mem * (0.85 + 0.3 * random()), 60,
		       60 * p.io * (0.85 + 0.3 * random()), 60,
		       60 * p.net * h.nic_bps * (0.85 + 0.3 * random()), 60,
		       60 * 1e8, 60,
		       60 * p.ct * (0.85 + 0.3 * random()), 60
		FROM host h
		JOIN (VALUES (0, 75.0, 50.0, 10.0, 0.02, 20.0), (1, 20.0, 40.0, 70.0, 0.05, 4.0),
		             (2, 4.0, 15.0, 2.0, 0.001, 1.0), (3, 30.0, 30.0, 10.0, 0.40, 6.0))
		     AS p (id, cpu, mem, io, net, ct) ON p.id = h.id % 4
		CROSS JOIN generate_series(1, 24) k
		WHERE h.hostname LIKE 'bulk-%'`, testNow.Truncate(time.Hour))
	require.NoError(t, err)
	rows, err := pool.Query(ctx, `SELECT id, (id % 4)::int FROM host WHERE hostname LIKE 'bulk-%'`)
	require.NoError(t, err)
	out := map[int64]int{}
	var id int64
	var p int
	for rows.Next() {
		require.NoError(t, rows.Scan(&id, &p))
		out[id] = p
	}
	require.NoError(t, rows.Err())
	return out, f
}

func newService(t *testing.T, pool *pgxpool.Pool) *Service {
	s := NewService(pool, audit.New(pool, slog.New(slog.NewTextHandler(io.Discard, nil))),
		Config{Now: func() time.Time { return testNow }})
	s.SetRunner(func(ctx context.Context) error { _, err := s.RunOnce(ctx); return err })
	return s
}

func TestRunFindsTheMachineProfiles(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	truth, f := seedProfiles(t, pool, 0.1)
	s := newService(t, pool)
	ctx := context.Background()

	out, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 400, out.Hosts)
	require.Equal(t, 4, out.K)

	viewer := auth.WithPrincipal(ctx, &auth.Principal{PersonID: f.People[fixture.Viewer], Role: auth.Viewer})
	v, err := s.Latest(viewer, Filter{})
	require.NoError(t, err)
	require.Equal(t, 400, v.Hosts)
	points, err := s.Points(viewer, v, MaxPoints)
	require.NoError(t, err)
	require.Len(t, points, 400)
	var want, got []int
	for _, p := range points {
		want = append(want, truth[p.HostID])
		got = append(got, p.Label)
	}
	require.GreaterOrEqual(t, AdjustedRand(want, got), 0.9)
	require.Len(t, v.Groups, 4)
	descriptions := map[string]bool{}
	for _, g := range v.Groups {
		require.Equal(t, g.FleetHosts, g.Hosts)
		descriptions[g.Description] = true
	}
	require.Len(t, descriptions, 4, "each group described apart: %v", descriptions)

	// A second run over the same hours keeps every host's label.
	before := map[int64]int{}
	for _, p := range points {
		before[p.HostID] = p.Label
	}
	_, err = pool.Exec(ctx, `UPDATE host_metric_1h SET cpu_sum = cpu_sum * 1.02`)
	require.NoError(t, err)
	s.cfg.Options.Seed = 12345
	_, err = s.RunOnce(ctx)
	require.NoError(t, err)
	v2, err := s.Latest(viewer, Filter{})
	require.NoError(t, err)
	require.NotEqual(t, v.Run.ID, v2.Run.ID)
	points2, err := s.Points(viewer, v2, MaxPoints)
	require.NoError(t, err)
	for _, p := range points2 {
		require.Equal(t, before[p.HostID], p.Label, "host %d changed group", p.HostID)
	}

	// Filters count the groups of the kept hosts only; points are bounded.
	var cluster int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM cluster WHERE name = 'bulk-0001'`).Scan(&cluster))
	v3, err := s.Latest(viewer, Filter{ClusterIDs: []int64{cluster}})
	require.NoError(t, err)
	require.Equal(t, 100, v3.Hosts)
	some, err := s.Points(viewer, v3, 10)
	require.NoError(t, err)
	require.Len(t, some, 10)
	sum := 0
	for _, g := range v3.Groups {
		sum += g.Hosts
	}
	require.Equal(t, 100, sum)
	rack := "r3"
	v4, err := s.Latest(viewer, Filter{Rack: &rack, Kinds: []string{"STREAMING", "BATCH", "ONLINE"}})
	require.NoError(t, err)
	require.Equal(t, 20, v4.Hosts)
	_, err = s.Points(viewer, v4, MaxPoints+1)
	require.Error(t, err)
	outliers, err := s.Outliers(viewer, v, 50)
	require.NoError(t, err)
	for _, o := range outliers {
		require.True(t, o.Outlier)
	}

	// Only the newest runs are kept.
	for range 3 {
		_, err = s.RunOnce(ctx)
		require.NoError(t, err)
	}
	var runs, assignments int
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM clustering_run), (SELECT count(*) FROM clustering_assignment)`).Scan(&runs, &assignments))
	require.Equal(t, 3, runs)
	require.Equal(t, 3*400, assignments)
}

func TestRunNowIsForOperatorsAndAudited(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	_, f := seedProfiles(t, pool, 0.2)
	s := newService(t, pool)
	ctx := context.Background()

	viewer := auth.WithPrincipal(ctx, &auth.Principal{PersonID: f.People[fixture.Viewer], Login: fixture.Viewer, Role: auth.Viewer})
	err := s.RunNow(viewer)
	var fe *fault.Error
	require.True(t, errors.As(err, &fe))
	require.Equal(t, fault.Forbidden, fe.Kind)

	ops := auth.WithPrincipal(ctx, &auth.Principal{PersonID: f.People[fixture.Operator], Login: fixture.Operator, Role: auth.Operator})
	require.NoError(t, s.RunNow(ops))
	v, err := s.Latest(ops, Filter{})
	require.NoError(t, err)
	require.NotNil(t, v)

	var denied, ok int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE outcome = 'DENIED'), count(*) FILTER (WHERE outcome = 'OK')
		FROM audit_log WHERE action = 'runClusteringAnalysis'`).Scan(&denied, &ok))
	require.Equal(t, 1, denied)
	require.Equal(t, 1, ok)

	_, err = s.Latest(ctx, Filter{})
	require.Error(t, err, "no principal, no view")
}

func TestNoRunYetAndTooFewHosts(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	s := newService(t, pool)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Role: auth.Viewer})
	v, err := s.Latest(ctx, Filter{})
	require.NoError(t, err)
	require.Nil(t, v)
	out, err := s.RunOnce(context.Background())
	require.NoError(t, err)
	require.Zero(t, out.RunID)
}

// BenchmarkRunOnce times the whole job on the database: loading a day of
// hourly sums for every host, clustering, and storing the run with COPY.
// TESLA_BENCH_HOSTS sets the fleet (default 20,000; docs/benchmarks.md quotes
// 200,000).
func BenchmarkRunOnce(b *testing.B) {
	hosts := 20000
	if v, err := strconv.Atoi(os.Getenv("TESLA_BENCH_HOSTS")); err == nil && v > 0 {
		hosts = v
	}
	pool := dbtest.New(b)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO cluster (name, region, kind) SELECT 'c' || c, 'bench', (ARRAY['STREAMING','BATCH','ONLINE'])[1 + c % 3] FROM generate_series(1, 200) c`,
		`INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		 SELECT 1 + (h % 200), 'h' || h, 32, 128::bigint << 30, 4e12, 25e9 FROM generate_series(1, ` + strconv.Itoa(hosts) + `) h`,
		`SELECT setseed(0.5)`,
		`INSERT INTO host_metric_1h (host_id, hour, samples, cpu_sum, cpu_n, mem_sum, mem_n, io_sum, io_n,
		                             net_in_sum, net_in_n, containers_sum, containers_n)
		 SELECT h.id, '` + testNow.Truncate(time.Hour).Format(time.RFC3339) + `'::timestamptz - k * interval '1 hour', 240,
		        240 * (10 + 20 * (h.id % 4) + 10 * random()), 240, 240 * (30 + 10 * (h.id % 3) + 5 * random()), 240,
		        240 * (5 + 15 * (h.id % 5 = 0)::int + 5 * random()), 240, 240 * 1e9 * (1 + (h.id % 7 = 0)::int + random()), 240,
		        240 * (2 + 10 * (h.id % 4) * random()), 240
		 FROM host h CROSS JOIN generate_series(1, 24) k`,
		`VACUUM ANALYZE host_metric_1h, host`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			b.Fatalf("seeding: %v", err)
		}
	}
	s := NewService(pool, nil, Config{Now: func() time.Time { return testNow }})
	var out Outcome
	for b.Loop() {
		var err error
		if out, err = s.RunOnce(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(out.Hosts), "hosts")
	b.ReportMetric(float64(out.K), "k")
}
