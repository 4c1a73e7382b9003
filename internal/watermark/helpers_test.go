package watermark

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/telemetry"
)

// viewer is a context signed in with the lowest role: water levels are platform
// data every role may read.
func viewer() context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "alice", Role: auth.Viewer})
}

// fleet builds a small hand-made inventory whose hardware the tests know.
type fleet struct {
	t        testing.TB
	pool     *pgxpool.Pool
	clusters map[string]int64
	hosts    map[string]int64
}

func newFleet(t testing.TB, pool *pgxpool.Pool) *fleet {
	return &fleet{t: t, pool: pool, clusters: map[string]int64{}, hosts: map[string]int64{}}
}

func (f *fleet) cluster(name, kind string) int64 {
	f.t.Helper()
	var id int64
	require.NoError(f.t, f.pool.QueryRow(context.Background(),
		`INSERT INTO cluster (name, region, kind) VALUES ($1, 'test', $2) RETURNING id`, name, kind).Scan(&id))
	f.clusters[name] = id
	return id
}

func (f *fleet) host(cluster, name string, cores int, memBytes, nicBps int64) int64 {
	f.t.Helper()
	var id int64
	require.NoError(f.t, f.pool.QueryRow(context.Background(), `INSERT INTO host
		(cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps) VALUES ($1, $2, $3, $4, 1e12, $5) RETURNING id`,
		f.clusters[cluster], name, cores, memBytes, nicBps).Scan(&id))
	f.hosts[name] = id
	return id
}

// sample is a compact way to write a telemetry.Sample; negative values are
// "not measured".
type sample struct {
	host                      string
	at                        time.Time
	cpu, mem, io              float32
	netIn, netOut, containers float64
}

func (f *fleet) write(samples ...sample) {
	f.t.Helper()
	f32 := func(v float32) *float32 {
		if v < 0 {
			return nil
		}
		return &v
	}
	f64 := func(v float64) *float64 {
		if v < 0 {
			return nil
		}
		return &v
	}
	var out []telemetry.Sample
	for _, s := range samples {
		ts := telemetry.Sample{HostID: f.hosts[s.host], TS: s.at, CPUPct: f32(s.cpu), MemPct: f32(s.mem),
			DiskIOPct: f32(s.io), NetInBps: f64(s.netIn), NetOutBps: f64(s.netOut)}
		if s.containers >= 0 {
			c := int32(s.containers)
			ts.Containers = &c
		}
		out = append(out, ts)
	}
	ctx := context.Background()
	_, err := f.pool.Exec(ctx, `SELECT ensure_host_metric_partitions('2026-02-20', '2026-03-20')`)
	require.NoError(f.t, err)
	_, err = telemetry.NewWriter(f.pool).Write(ctx, &telemetry.SliceSource{Samples: out})
	require.NoError(f.t, err)
}

// level is one row of a level table, read back for assertions.
type level struct {
	Used, Capacity float64
	P95, Max       *float64
	Hosts          int
}

func readMinute(t testing.TB, pool *pgxpool.Pool, cluster int64, dim Dimension, ts time.Time) (level, bool) {
	t.Helper()
	var l level
	var p95, mx *float32
	err := pool.QueryRow(context.Background(), `SELECT used, capacity, p95, max, hosts FROM watermark_1m
		WHERE cluster_id = $1 AND dimension = $2 AND ts = $3`, cluster, dim, ts).Scan(&l.Used, &l.Capacity, &p95, &mx, &l.Hosts)
	if err != nil {
		return level{}, false
	}
	l.P95, l.Max = widen(p95), widen(mx)
	return l, true
}

// coarse is one row of watermark_1h or watermark_1d.
type coarse struct {
	Used, Capacity, Utilization, Peak float64
	Minutes                           int
}

func readCoarse(t testing.TB, pool *pgxpool.Pool, table string, cluster int64, dim Dimension, ts time.Time) coarse {
	t.Helper()
	var c coarse
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT used, capacity, utilization, peak, minutes FROM `+table+`
		WHERE cluster_id = $1 AND dimension = $2 AND ts = $3`, cluster, dim, ts).Scan(&c.Used, &c.Capacity, &c.Utilization, &c.Peak, &c.Minutes))
	return c
}

func count(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// fixedClock returns a clock stuck at at.
func fixedClock(at time.Time) func() time.Time { return func() time.Time { return at } }

// approx asserts a float pointer's value.
func approx(t testing.TB, want float64, got *float64, msgAndArgs ...any) {
	t.Helper()
	require.NotNil(t, got, msgAndArgs...)
	require.InDelta(t, want, *got, 1e-6, msgAndArgs...)
}
