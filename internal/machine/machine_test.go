package machine

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/telemetry"
)

var now = time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T) (*Service, *fixture.Fleet, context.Context) {
	t.Helper()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: f.People[fixture.Viewer], Role: auth.Viewer})
	_, err := pool.Exec(ctx, `SELECT ensure_host_metric_partitions('2026-05-03', '2026-05-05')`)
	require.NoError(t, err)
	// batch-wh-1: one sample a minute for two hours; host n01 runs hot (90% CPU with
	// a 100% spike), the others at 20 + 5·i %.
	_, err = pool.Exec(ctx, `INSERT INTO host_metric (host_id, ts, cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers)
		SELECT h.id, $1::timestamptz - m * interval '1 minute',
		       CASE WHEN h.hostname = 'batch-wh-1-n01' THEN (CASE WHEN m = 30 THEN 100 ELSE 90 END) ELSE 20 + 5 * (h.id % 5) END,
		       50, 10, 2.5e9, 1e9, 10
		FROM host h CROSS JOIN generate_series(1, 120) m
		WHERE h.cluster_id = $2 AND h.state NOT IN ('DECOMMISSIONED')`, now, f.Clusters["batch-wh-1"])
	require.NoError(t, err)
	deriveHostHours(t, pool)
	s := NewService(pool)
	s.now = func() time.Time { return now }
	return s, f, ctx
}

// deriveHostHours derives the hourly host sums of every complete hour of the
// samples inserted straight into host_metric (the writers' and the rollup's
// marks are bypassed), as the host-hours job would.
func deriveHostHours(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, `INSERT INTO host_hour_dirty (hour)
		SELECT DISTINCT date_bin('1 hour', ts, '2000-01-01 00:00:00+00') FROM host_metric ON CONFLICT DO NOTHING`)
	require.NoError(t, err)
	_, err = telemetry.RollupHostHours(ctx, pool, telemetry.HostHoursConfig{Now: func() time.Time { return now.Add(time.Hour) }})
	require.NoError(t, err)
}

func TestHostSeriesDownSamplesAndKeepsSpikes(t *testing.T) {
	t.Parallel()
	s, f, ctx := setup(t)
	host := f.Hosts["batch-wh-1-n01"]
	ser, err := s.HostSeries(ctx, host, now.Add(-2*time.Hour), now, 0, 10)
	require.NoError(t, err)
	require.Equal(t, 15*time.Minute, ser.Step, "two hours in at most 10 points needs 15-minute steps")
	require.Len(t, ser.Points, 8)
	total := 0
	var spike float64
	for _, p := range ser.Points {
		total += p.Samples
		spike = max(spike, *p.CPUPctMax)
		require.InDelta(t, 50, *p.MemPct, 1e-9)
	}
	require.Equal(t, 120, total)
	require.Equal(t, 100.0, spike, "the bucket maximum keeps a one-minute spike")

	ser, err = s.HostSeries(ctx, host, now.Add(-10*time.Minute), now, time.Minute, 500)
	require.NoError(t, err)
	require.Equal(t, time.Minute, ser.Step)
	require.Len(t, ser.Points, 10)

	for name, call := range map[string]func() error{
		"reversed":   func() error { _, err := s.HostSeries(ctx, host, now, now.Add(-time.Hour), 0, 0); return err },
		"too long":   func() error { _, err := s.HostSeries(ctx, host, now.Add(-40*24*time.Hour), now, 0, 0); return err },
		"max points": func() error { _, err := s.HostSeries(ctx, host, time.Time{}, time.Time{}, 0, 99999); return err },
	} {
		require.True(t, fault.Is(call(), fault.Invalid), name)
	}
	_, err = s.HostSeries(context.Background(), host, time.Time{}, time.Time{}, 0, 0)
	require.True(t, fault.Is(err, fault.Unauthenticated))
}

func TestAnalysisComparesWithPeersAndFindsTrouble(t *testing.T) {
	t.Parallel()
	s, f, ctx := setup(t)
	beat := now.Add(-time.Minute)
	a, err := s.Analyse(ctx, HostFacts{ID: f.Hosts["batch-wh-1-n01"], ClusterID: f.Clusters["batch-wh-1"], Hostname: "batch-wh-1-n01",
		State: "ONLINE", LastHeartbeat: &beat}, 6*time.Hour)
	require.NoError(t, err)
	require.Equal(t, 120, a.Samples)
	cpu := a.Peers[0]
	require.Equal(t, DimCPU, cpu.Dimension)
	require.InDelta(t, 90.083, *cpu.HostAverage, 0.01)
	require.Equal(t, 1.0, *cpu.PercentileRank)
	require.True(t, strings.HasPrefix(cpu.Verdict, "hot"), cpu.Verdict)
	require.InDelta(t, 10, *a.Peers[3].HostAverage, 1e-6, "network in is a percent of the NIC: 2.5 Gbit/s of 25 Gbit/s")
	require.NotEmpty(t, a.Findings)
	require.Contains(t, a.Findings, Finding{Warning, "CPU p95 is 90.0%: the host is saturated"})
	require.Contains(t, a.Findings, Finding{Warning, "CPU is busier than 100% of its cluster peers (90.1 vs median 32.5)"})
	require.Len(t, a.Findings, 2, "memory, disk and network are the same on every host: typical, not idle: %v", a.Findings)
	require.Equal(t, "typical", a.Peers[1].Verdict)
	require.InDelta(t, 0.5, *a.Peers[1].PercentileRank, 1e-9)

	// A repairing host with a failed component and no recent data.
	old := now.Add(-3 * time.Hour)
	a, err = s.Analyse(ctx, HostFacts{ID: f.Hosts["online-1-n03"], ClusterID: f.Clusters["online-1"], Hostname: "online-1-n03",
		State: "REPAIRING", StateReason: "PSU swap", LastHeartbeat: &old, UnhealthyComponents: []string{"HDFS/DATANODE is FAILED (want STARTED)"}}, time.Hour)
	require.NoError(t, err)
	require.Equal(t, Finding{Problem, "host is REPAIRING: PSU swap"}, a.Findings[0])
	require.Contains(t, a.Findings, Finding{Problem, "HDFS/DATANODE is FAILED (want STARTED)"})
	require.Contains(t, a.Findings, Finding{Problem, "no heartbeat for 3h0m0s"})
	require.Contains(t, a.Findings, Finding{Warning, "no samples in the last 1h0m0s"})
	for i := 1; i < len(a.Findings); i++ {
		require.LessOrEqual(t, a.Findings[i-1].Severity, a.Findings[i].Severity, "worst first")
	}
	require.Equal(t, "no data", a.Peers[0].Verdict)
	require.Nil(t, a.Scrape)

	_, err = s.Analyse(ctx, HostFacts{ID: 1}, time.Second)
	require.True(t, fault.Is(err, fault.Invalid))
}

func TestChooseStepKeepsAlignedBucketsWithinMaxPoints(t *testing.T) {
	aligned := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	odd := aligned.Add(7*time.Minute + 13*time.Second)
	tests := []struct {
		from    time.Time
		rng     time.Duration
		min     time.Duration
		points  int
		want    time.Duration
		buckets int
	}{
		{aligned, time.Hour, time.Minute, 500, time.Minute, 60},
		{aligned, 24 * time.Hour, time.Minute, 300, 5 * time.Minute, 288},
		{aligned, 7 * 24 * time.Hour, time.Minute, 500, 30 * time.Minute, 336},
		{aligned, 30 * 24 * time.Hour, time.Minute, 30, 24 * time.Hour, 30},
		// Six hours starting mid-bucket touch 25 quarter-hours: 15 minutes is too fine.
		{odd, 6 * time.Hour, time.Minute, 24, 30 * time.Minute, 13},
		{odd, 90 * 24 * time.Hour, time.Minute, 30, 4 * 24 * time.Hour, 23},
	}
	for _, tt := range tests {
		got := chooseStep(tt.from, tt.from.Add(tt.rng), tt.min, tt.points)
		require.Equal(t, tt.want, got, "range %s from %s", tt.rng, tt.from)
		n := buckets(tt.from, tt.from.Add(tt.rng), got)
		require.Equal(t, tt.buckets, n)
		require.LessOrEqual(t, n, tt.points)
	}
}

// TestHostSeriesNeverExceedsMaxPoints walks the range's start across a bucket so
// that an unaligned range would touch one bucket too many.
func TestHostSeriesNeverExceedsMaxPoints(t *testing.T) {
	t.Parallel()
	s, f, ctx := setup(t)
	host := f.Hosts["batch-wh-1-n02"]
	for off := time.Duration(0); off < 15*time.Minute; off += 150 * time.Second {
		to := now.Add(-off)
		ser, err := s.HostSeries(ctx, host, to.Add(-time.Hour), to, 0, 4)
		require.NoError(t, err)
		require.LessOrEqual(t, len(ser.Points), 4, "offset %s, step %s", off, ser.Step)
	}
}

// The peer comparison read from the hourly sums equals the one computed from
// every raw sample, as the analysis did before the sums, on a cluster with
// random load, missing values and a host without samples in some hours, when
// the window is whole hours ending at now on the hour (otherwise the peers'
// hours differ from the window by design: see docs/telemetry.md). Averages are
// exact sums over counts; only floating-point rounding separates them.
func TestAnalysisFromHourlySumsEqualsRawSamples(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: f.People[fixture.Viewer], Role: auth.Viewer})
	_, err := pool.Exec(ctx, `SELECT ensure_host_metric_partitions('2026-05-02', '2026-05-05')`)
	require.NoError(t, err)
	cluster := f.Clusters["batch-wh-1"]
	// 24 h of a sample every 5 minutes (off the hour), each host with its own
	// level; a tenth of the values missing; host ids divisible by 3 silent
	// from 02:00 to 08:00.
	// setseed holds for the session: one connection for both.
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `SELECT setseed(0.42)`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO host_metric (host_id, ts, cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers)
		SELECT h.id, $1::timestamptz - m * interval '5 minutes' + interval '17 seconds',
		       CASE WHEN random() < 0.1 THEN NULL ELSE (h.id % 7) * 12 + random() * 20 END,
		       CASE WHEN random() < 0.1 THEN NULL ELSE 30 + random() * 40 END,
		       random() * 50, random() * 5e9, CASE WHEN random() < 0.1 THEN NULL ELSE random() * 2e9 END,
		       (random() * 30)::int
		FROM host h CROSS JOIN generate_series(1, 288) m
		WHERE h.cluster_id = $2
		  AND NOT (h.id % 3 = 0 AND $1::timestamptz - m * interval '5 minutes' BETWEEN '2026-05-04 02:00Z' AND '2026-05-04 08:00Z')`,
		now, cluster)
	conn.Release()
	require.NoError(t, err)
	deriveHostHours(t, pool)
	s := NewService(pool)
	s.now = func() time.Time { return now }

	// The reference: every peer's averages from the raw samples of the window.
	rows, err := pool.Query(ctx, `SELECT m.host_id, avg(m.cpu_pct), avg(m.mem_pct), avg(m.disk_io_pct),
			avg(100 * m.net_in_bps / NULLIF(h.nic_bps, 0)), avg(100 * m.net_out_bps / NULLIF(h.nic_bps, 0)), avg(m.containers)
		FROM host h JOIN host_metric m ON m.host_id = h.id AND m.ts > $2 AND m.ts <= $3
		WHERE h.cluster_id = $1 GROUP BY m.host_id`, cluster, now.Add(-24*time.Hour), now)
	require.NoError(t, err)
	raw := map[int64][6]*float64{}
	for rows.Next() {
		var id int64
		var v [6]*float64
		require.NoError(t, rows.Scan(&id, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]))
		raw[id] = v
	}
	require.NoError(t, rows.Err())
	require.GreaterOrEqual(t, len(raw), 5)

	for _, hostID := range []int64{f.Hosts["batch-wh-1-n01"], f.Hosts["batch-wh-1-n02"], f.Hosts["batch-wh-1-n03"]} {
		a, err := s.Analyse(ctx, HostFacts{ID: hostID, ClusterID: cluster, Hostname: "h", State: "ONLINE"}, 24*time.Hour)
		require.NoError(t, err)
		require.True(t, a.PeersFrom.Equal(now.Add(-24*time.Hour)) && a.PeersTo.Equal(now), "%s..%s", a.PeersFrom, a.PeersTo)
		for d, p := range a.Peers {
			var peers []float64
			for id, v := range raw {
				if id != hostID && v[d] != nil {
					peers = append(peers, *v[d])
				}
			}
			slices.Sort(peers)
			host := raw[hostID][d]
			require.NotNil(t, host)
			require.InDelta(t, *host, *p.HostAverage, 1e-9, p.Dimension)
			require.InDelta(t, quantile(peers, 0.5), *p.PeerMedian, 1e-9, p.Dimension)
			require.InDelta(t, quantile(peers, 0.95), *p.PeerP95, 1e-9, p.Dimension)
			below := 0.0
			for _, x := range peers {
				if x < *host {
					below++
				}
			}
			require.InDelta(t, below/float64(len(peers)), *p.PercentileRank, 1e-9, p.Dimension)
		}
	}
}

// A window shorter than an hour compares the host's own window with its peers'
// last complete hour; a window not on the hour with the hours it touches.
func TestAnalysisPeerHoursOfShortAndUnalignedWindows(t *testing.T) {
	t.Parallel()
	s, f, ctx := setup(t)
	facts := HostFacts{ID: f.Hosts["batch-wh-1-n01"], ClusterID: f.Clusters["batch-wh-1"], Hostname: "batch-wh-1-n01", State: "ONLINE"}
	at := now.Add(25 * time.Minute)
	s.now = func() time.Time { return at }
	a, err := s.Analyse(ctx, facts, 10*time.Minute)
	require.NoError(t, err)
	require.Equal(t, now.Add(-time.Hour), a.PeersFrom)
	require.Equal(t, now, a.PeersTo)
	require.NotNil(t, a.Peers[0].PeerMedian, "the last complete hour has the peers' samples")
	require.Nil(t, a.Peers[0].HostAverage, "the host's own window (12:15..12:25) has none")

	a, err = s.Analyse(ctx, facts, 90*time.Minute)
	require.NoError(t, err)
	require.Equal(t, now.Add(-2*time.Hour), a.PeersFrom, "10:55 lies in the 10:00 hour")
	require.Equal(t, now, a.PeersTo)
	require.Equal(t, 1.0, *a.Peers[0].PercentileRank)
}

// The peers' averages of a cluster and run of hours are read once per
// peerCacheTTL: a change of the sums shows after it, and a new hour is read
// at once.
func TestAnalysisReusesPeersForAWhile(t *testing.T) {
	t.Parallel()
	s, f, ctx := setup(t)
	facts := HostFacts{ID: f.Hosts["batch-wh-1-n01"], ClusterID: f.Clusters["batch-wh-1"], Hostname: "batch-wh-1-n01", State: "ONLINE"}
	median := func(at time.Time) float64 {
		t.Helper()
		s.now = func() time.Time { return at }
		a, err := s.Analyse(ctx, facts, 6*time.Hour)
		require.NoError(t, err)
		return *a.Peers[1].PeerMedian
	}
	require.InDelta(t, 50, median(now), 1e-9)
	_, err := s.dbtx.Exec(ctx, `UPDATE host_metric_1h SET mem_sum = mem_sum * 1.5, cum_mem_sum = cum_mem_sum * 1.5`)
	require.NoError(t, err)
	require.InDelta(t, 50, median(now.Add(peerCacheTTL-time.Second)), 1e-9, "read from the cache")
	require.InDelta(t, 75, median(now.Add(peerCacheTTL)), 1e-9, "read again")
	_, err = s.dbtx.Exec(ctx, `UPDATE host_metric_1h SET mem_sum = mem_sum * 2, cum_mem_sum = cum_mem_sum * 2`)
	require.NoError(t, err)
	require.InDelta(t, 150, median(now.Add(time.Hour)), 1e-9, "another run of hours is another key")
}
