package watermark

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/workload"
)

// m0 is the minute most tests roll up; m1 is in the next hour, same day.
var (
	m0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	m1 = time.Date(2026, 3, 1, 11, 30, 0, 0, time.UTC)
)

// handFleet is two clusters whose every figure the tests work out by hand:
//
//	stream (STREAMING): a1 8 cores, 1000 B, NIC 1000 b/s; a2 16 cores, 3000 B,
//	                    NIC 1000; a3 4 cores, never reports
//	batch (BATCH):      b1 4 cores, 1000 B, NIC unknown (0); b2 32 cores, 1000 B, NIC 2000
//
// Samples at m0: a1 twice (averaged), a2, b1 and b2 once each. Nobody reports
// NET_OUT except b2.
func handFleet(t *testing.T, pool *pgxpool.Pool) *fleet {
	f := newFleet(t, pool)
	f.cluster("stream", "STREAMING")
	f.cluster("batch", "BATCH")
	f.host("stream", "a1", 8, 1000, 1000)
	f.host("stream", "a2", 16, 3000, 1000)
	f.host("stream", "a3", 4, 1000, 1000)
	f.host("batch", "b1", 4, 1000, 0)
	f.host("batch", "b2", 32, 1000, 2000)
	f.write(
		sample{"a1", m0, 40, 10, 10, 100, -1, 2},
		sample{"a1", m0.Add(30 * time.Second), 60, 30, 30, 300, -1, 4},
		sample{"a2", m0.Add(10 * time.Second), 25, 50, 60, 500, -1, 6},
		sample{"b1", m0.Add(5 * time.Second), 100, 20, 0, 100, -1, 1},
		sample{"b2", m0.Add(5 * time.Second), 50, 40, 50, 1000, 400, 8},
	)
	return f
}

func newRollup(pool *pgxpool.Pool, now time.Time) *Rollup {
	return NewRollup(pool, RollupConfig{Now: fixedClock(now)})
}

func TestRollupComputesLevelsExactly(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := handFleet(t, pool)
	ctx := context.Background()

	res, err := newRollup(pool, m0.Add(5*time.Minute)).RunOnce(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Minutes)
	require.Equal(t, []int64{PlatformID, f.clusters["stream"], f.clusters["batch"]}, res.Clusters)

	stream, batch := f.clusters["stream"], f.clusters["batch"]
	cases := []struct {
		name    string
		cluster int64
		dim     Dimension
		want    level
	}{
		// a1 averages 50% of 8 cores, a2 25% of 16: 4 + 4 of 24. Host
		// utilisation .5 and .25: p95 interpolates .25 + .95 × .25.
		{"stream cpu", stream, CPU, level{8, 24, ptr(0.4875), ptr(0.5), 2}},
		{"stream memory", stream, Memory, level{0.2*1000 + 0.5*3000, 4000, ptr(0.2 + 0.95*0.3), ptr(0.5), 2}},
		{"stream disk io", stream, DiskIO, level{20 + 60, 200, ptr(0.2 + 0.95*0.4), ptr(0.6), 2}},
		{"stream net in", stream, NetIn, level{200 + 500, 2000, ptr(0.2 + 0.95*0.3), ptr(0.5), 2}},
		// 3 and 6 containers on 4 and 8 slots (cores / 2).
		{"stream containers", stream, Containers, level{9, 12, ptr(0.75), ptr(0.75), 2}},
		{"batch cpu", batch, CPU, level{4 + 16, 36, ptr(0.5 + 0.95*0.5), ptr(1.0), 2}},
		// b1's NIC speed is unknown: its traffic counts, its capacity and
		// utilisation do not.
		{"batch net in", batch, NetIn, level{1100, 2000, ptr(0.5), ptr(0.5), 2}},
		{"batch net out", batch, NetOut, level{400, 2000, ptr(0.2), ptr(0.2), 1}},
		// The platform sums the clusters; its percentiles run over all hosts
		// (.25 .5 .5 1: p95 at rank 2.85 is .5 + .85 × .5).
		{"platform cpu", PlatformID, CPU, level{28, 60, ptr(0.925), ptr(1.0), 4}},
		{"platform containers", PlatformID, Containers, level{9 + 1 + 8, 12 + 2 + 16, ptr(0.75), ptr(0.75), 4}},
	}
	for _, c := range cases {
		got, ok := readMinute(t, pool, c.cluster, c.dim, m0)
		require.True(t, ok, c.name)
		require.InDelta(t, c.want.Used, got.Used, 1e-9, c.name)
		require.InDelta(t, c.want.Capacity, got.Capacity, 1e-9, c.name)
		approx(t, *c.want.P95, got.P95, c.name)
		approx(t, *c.want.Max, got.Max, c.name)
		require.Equal(t, c.want.Hosts, got.Hosts, c.name)
	}
	_, ok := readMinute(t, pool, stream, NetOut, m0)
	require.False(t, ok, "no stream host reported NET_OUT: no level")
	require.Zero(t, count(t, pool, `SELECT count(*) FROM watermark_1m WHERE dimension = 'QUEUE_SLOTS'`),
		"no queue snapshots, no QUEUE_SLOTS level (TestRollupQueueSlotsFromQueueSnapshots)")

	// The platform row is the sum of the clusters' rows in every dimension.
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM (
			SELECT dimension, sum(used) AS used, sum(capacity) AS capacity, sum(hosts) AS hosts
			FROM watermark_1m WHERE cluster_id <> 0 GROUP BY dimension) c
		JOIN watermark_1m p ON p.cluster_id = 0 AND p.dimension = c.dimension
		WHERE abs(p.used - c.used) > 1e-6 * greatest(p.used, 1) OR p.capacity <> c.capacity OR p.hosts <> c.hosts`))
	require.EqualValues(t, 6, count(t, pool, `SELECT count(*) FROM watermark_1m WHERE cluster_id = 0`))

	// Hour and day of a single minute carry that minute.
	h := readCoarse(t, pool, "watermark_1h", stream, CPU, m0)
	require.InDelta(t, 8.0, h.Used, 1e-9)
	require.InDelta(t, 1.0/3, h.Utilization, 1e-9)
	require.InDelta(t, 1.0/3, h.Peak, 1e-9)
	require.Equal(t, 1, h.Minutes)
	d := readCoarse(t, pool, "watermark_1d", stream, CPU, m0.Truncate(24*time.Hour))
	require.InDelta(t, 1.0/3, d.Peak, 1e-9)

	// The latest level and its status, through the API.
	now, err := NewService(pool, nil, nil).Now(viewer(), []int64{stream, PlatformID, 99999}, []Dimension{CPU, Containers})
	require.NoError(t, err)
	require.Len(t, now[stream], 2)
	require.Empty(t, now[99999], "unknown clusters answer with no levels")
	cpu := now[stream][0]
	require.Equal(t, CPU, cpu.Dimension)
	require.Equal(t, "cores", cpu.Unit)
	require.Equal(t, m0, cpu.TS.UTC())
	require.InDelta(t, 1.0/3, cpu.Utilization, 1e-9)
	require.Equal(t, 0.60, cpu.Threshold)
	require.Equal(t, StatusOK, cpu.Status, "1/3 is below 85%% of 0.60")
	ct := now[stream][1]
	require.Equal(t, StatusCritical, ct.Status, "0.75 is over the streaming threshold")
	require.Equal(t, 0.80, now[PlatformID][0].Threshold)
}

func TestRollupIsIncrementalAndCorrectsLateSamples(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := handFleet(t, pool)
	f.write(sample{"a1", m1, 10, 10, 10, 100, -1, 1})
	ctx := context.Background()
	r := newRollup(pool, m1.Add(time.Hour))
	stream := f.clusters["stream"]

	res, err := r.RunOnce(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, res.Minutes)
	require.EqualValues(t, 17+10, res.Hours, "hourly rows: 10:00 has 17 cluster dimensions, 11:00 has 10")
	hour11 := readCoarse(t, pool, "watermark_1h", stream, CPU, m1.Truncate(time.Hour))

	// Nothing dirty: nothing read, nothing written.
	res, err = r.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, RollupResult{}, res)

	// A late sample for m0 (a1 now averages 40, 60, 80 → 60% of 8 cores).
	f.write(sample{"a1", m0.Add(50 * time.Second), 80, -1, -1, -1, -1, -1})
	res, err = r.RunOnce(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, res.Minutes)
	require.Equal(t, []int64{PlatformID, stream}, res.Clusters, "only the stream cluster and the platform changed")
	got, ok := readMinute(t, pool, stream, CPU, m0)
	require.True(t, ok)
	require.InDelta(t, 4.8+4, got.Used, 1e-9, "the minute is corrected")
	approx(t, 0.6, got.Max)
	h := readCoarse(t, pool, "watermark_1h", stream, CPU, m0)
	require.InDelta(t, 8.8/24, h.Utilization, 1e-9, "its hour is corrected")
	require.Equal(t, hour11, readCoarse(t, pool, "watermark_1h", stream, CPU, m1.Truncate(time.Hour)), "other hours are left alone")
	d := readCoarse(t, pool, "watermark_1d", stream, CPU, m0.Truncate(24*time.Hour))
	require.InDelta(t, 8.8/24, d.Peak, 1e-9, "its day is corrected")
	require.Equal(t, 2, d.Minutes)
	// The day's mean weighs its hours by their minutes: m0 (8.8 of 24 cores)
	// and m1 (a1 alone, 0.8 of 8), one minute each.
	require.InDelta(t, (8.8/24+0.1)/2, d.Utilization, 1e-9)
}

// A writer that re-marks a minute after the rollup claimed it must leave the
// minute dirty, so the next run sees its samples.
func TestRollupKeepsMinuteRemarkedWhileProcessing(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := handFleet(t, pool)
	ctx := context.Background()
	r := newRollup(pool, m0.Add(5*time.Minute))
	r.cfg.afterClaim = func(context.Context) {
		f.write(sample{"a2", m0.Add(40 * time.Second), 75, -1, -1, -1, -1, -1})
	}
	_, err := r.RunOnce(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, count(t, pool, `SELECT count(*) FROM rollup_dirty WHERE minute = $1`, m0),
		"the minute re-marked during the run is dirty again")

	r.cfg.afterClaim = nil
	_, err = r.RunOnce(ctx)
	require.NoError(t, err)
	got, _ := readMinute(t, pool, f.clusters["stream"], CPU, m0)
	require.InDelta(t, 4+0.5*16, got.Used, 1e-9, "a2 now averages 25 and 75")
	require.Zero(t, count(t, pool, `SELECT count(*) FROM rollup_dirty`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM rollup_claim`))
}

// The race a plain "read dirty rows, compute, delete them" loses: a writer whose
// marker hit the existing dirty row (ON CONFLICT DO NOTHING leaves no trace) and
// who commits after the rollup began. The claim waits for it.
func TestRollupWaitsForWriterThatMarkedAnAlreadyDirtyMinute(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := handFleet(t, pool)
	ctx := context.Background()

	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck
	_, err = tx.Exec(ctx, `INSERT INTO host_metric (host_id, ts, cpu_pct) VALUES ($1, $2, 75)`, f.hosts["a2"], m0.Add(40*time.Second))
	require.NoError(t, err)
	tag, err := tx.Exec(ctx, `INSERT INTO rollup_dirty (minute) VALUES ($1) ON CONFLICT DO NOTHING`, m0)
	require.NoError(t, err)
	require.Zero(t, tag.RowsAffected(), "m0 was already dirty: the marker left no row")

	done := make(chan error, 1)
	go func() {
		_, err := newRollup(pool, m0.Add(5*time.Minute)).RunOnce(ctx)
		done <- err
	}()
	// Wait until the claim is blocked behind the writer, then let the writer commit.
	deadline := time.Now().Add(20 * time.Second)
	for count(t, pool, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE rollup_dirty%'`) == 0 {
		require.True(t, time.Now().Before(deadline), "the rollup never waited for the writer")
		select {
		case err := <-done:
			t.Fatalf("the rollup finished without waiting for the writer: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	require.NoError(t, tx.Commit(ctx))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the rollup did not finish")
	}
	got, _ := readMinute(t, pool, f.clusters["stream"], CPU, m0)
	require.InDelta(t, 4+0.5*16, got.Used, 1e-9, "the writer's sample is in the level")
}

func TestRollupNotifiesChangedClustersAndPulse(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := handFleet(t, pool)
	ctx := context.Background()

	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `LISTEN `+ChannelWatermark+`; LISTEN `+ChannelPulse)
	require.NoError(t, err)

	now := m0.Add(5 * time.Minute)
	_, err = newRollup(pool, now).RunOnce(ctx)
	require.NoError(t, err)

	got := map[string][]string{}
	for len(got[ChannelPulse]) == 0 {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		require.NoError(t, err, "notifications expected before the deadline")
		got[n.Channel] = append(got[n.Channel], n.Payload)
	}
	require.ElementsMatch(t, []string{
		strconv.FormatInt(f.clusters["stream"], 10), strconv.FormatInt(f.clusters["batch"], 10),
	}, got[ChannelWatermark], "one notification per changed cluster, ids only")
	require.Equal(t, []string{now.Format(time.RFC3339)}, got[ChannelPulse])

	// A run that changes nothing stays quiet.
	_, err = newRollup(pool, now).RunOnce(ctx)
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = conn.Conn().WaitForNotification(wctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// Only complete minutes are rolled up: the current one waits until it ends.
func TestRollupLeavesTheCurrentMinuteDirty(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := handFleet(t, pool)
	ctx := context.Background()
	res, err := newRollup(pool, m0.Add(30*time.Second)).RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Minutes)
	require.EqualValues(t, 1, count(t, pool, `SELECT count(*) FROM rollup_dirty`))
	_, ok := readMinute(t, pool, f.clusters["stream"], CPU, m0)
	require.False(t, ok)
}

// A host that moved to another cluster takes its share of a re-rolled minute
// with it; a cluster left without hosts in that minute loses its level.
func TestRollupRemovesLevelsOfClustersWithoutHosts(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := newFleet(t, pool)
	f.cluster("old", "ONLINE")
	f.cluster("new", "ONLINE")
	f.host("old", "h1", 8, 1000, 1000)
	f.write(sample{"h1", m0, 50, 50, 50, 100, 100, 2})
	ctx := context.Background()
	r := newRollup(pool, m0.Add(5*time.Minute))
	_, err := r.RunOnce(ctx)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET cluster_id = $1 WHERE id = $2`, f.clusters["new"], f.hosts["h1"])
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO rollup_dirty VALUES ($1)`, m0)
	require.NoError(t, err)
	res, err := r.RunOnce(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 6, res.Removed)
	_, ok := readMinute(t, pool, f.clusters["old"], CPU, m0)
	require.False(t, ok)
	_, ok = readMinute(t, pool, f.clusters["new"], CPU, m0)
	require.True(t, ok)
	require.Zero(t, count(t, pool, `SELECT count(*) FROM watermark_1h WHERE cluster_id = $1`, f.clusters["old"]))
}

func TestMergeRanges(t *testing.T) {
	t.Parallel()
	at := func(m int) time.Time { return m0.Add(time.Duration(m) * time.Minute) }
	got := mergeRanges([]time.Time{at(0), at(1), at(2), at(7), at(12), at(30)}, 5*time.Minute)
	require.Equal(t, []timeRange{{at(0), at(13)}, {at(30), at(31)}}, got)
	got = mergeRanges([]time.Time{at(0), at(2)}, time.Minute)
	require.Equal(t, []timeRange{{at(0), at(1)}, {at(2), at(3)}}, got)
}

// The BRIN index on host_metric(ts) is what keeps the rollup from reading whole
// day partitions; make sure the planner uses it for a minute's range.
func TestRollupReadsRawSamplesThroughTheTimeIndex(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `SELECT ensure_host_metric_partitions('2026-03-01', '2026-03-02')`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO host_metric (host_id, ts, cpu_pct)
		SELECT h, '2026-03-01'::timestamptz + s * interval '1 minute', 50
		FROM generate_series(0, 1439) s CROSS JOIN generate_series(1, 50) h ORDER BY s, h`) // arrival order
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `VACUUM ANALYZE host_metric_20260301`)
	require.NoError(t, err)
	rows, err := pool.Query(ctx, `EXPLAIN SELECT * FROM host_metric WHERE ts >= $1 AND ts < $2`, m0, m0.Add(time.Minute))
	require.NoError(t, err)
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, strings.Join(plan, "\n"), "Bitmap Index Scan on host_metric_20260301_ts_idx")
}

// QUEUE_SLOTS comes from queue snapshots: used = the root queues' used vcores
// (the minute's mean), capacity = the cluster's cores that minute, max and p95
// = the other queues' use of their maximum share; a snapshot marks its minute
// for the rollup, so a minute with no host sample still gets its level.
func TestRollupQueueSlotsFromQueueSnapshots(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := handFleet(t, pool)
	ctx := context.Background()
	stream := f.clusters["stream"]
	ids, err := workload.UpsertQueues(ctx, pool, stream, []workload.QueueSpec{
		{Path: "root", SchedulerType: "CAPACITY", GuaranteedVcores: 1, MaxVcores: 1, GuaranteedMemory: 1, MaxMemory: 1, Weight: 1},
		{Path: "root.etl", SchedulerType: "CAPACITY", GuaranteedVcores: 0.5, MaxVcores: 0.5, GuaranteedMemory: 0.5, MaxMemory: 0.5, Weight: 1},
		{Path: "root.adhoc", SchedulerType: "CAPACITY", GuaranteedVcores: 0.25, MaxVcores: 1, GuaranteedMemory: 0.25, MaxMemory: 1, Weight: 1},
	})
	require.NoError(t, err)
	_, err = workload.RecordQueueUsage(ctx, pool, []workload.QueueSample{
		{QueueID: ids["root"], TS: m0, UsedVcores: 10},
		{QueueID: ids["root"], TS: m0.Add(30 * time.Second), UsedVcores: 14},
		{QueueID: ids["root.etl"], TS: m0, UsedVcores: 12},
		{QueueID: ids["root.adhoc"], TS: m0, UsedVcores: 0},
		// Two minutes later: no host sample, queues only.
		{QueueID: ids["root"], TS: m0.Add(2 * time.Minute), UsedVcores: 6},
	})
	require.NoError(t, err)
	_, err = newRollup(pool, m0.Add(5*time.Minute)).RunOnce(ctx)
	require.NoError(t, err)

	got, ok := readMinute(t, pool, stream, QueueSlots, m0)
	require.True(t, ok)
	// Stream's reporting hosts hold 8 + 16 cores; root used 12 on average;
	// etl used 12 of its 0.5 × 24 = 12 maximum, adhoc 0 of 24.
	require.InDelta(t, 12, got.Used, 1e-9)
	require.InDelta(t, 24, got.Capacity, 1e-9)
	approx(t, 1.0, got.Max)
	require.Equal(t, 3, got.Hosts)
	plat, ok := readMinute(t, pool, PlatformID, QueueSlots, m0)
	require.True(t, ok)
	require.InDelta(t, 12, plat.Used, 1e-9)
	require.InDelta(t, 24, plat.Capacity, 1e-9)
	_, ok = readMinute(t, pool, f.clusters["batch"], QueueSlots, m0)
	require.False(t, ok, "batch has no queues")

	later, ok := readMinute(t, pool, stream, QueueSlots, m0.Add(2*time.Minute))
	require.True(t, ok, "a queue snapshot alone marks its minute")
	require.InDelta(t, 6, later.Used, 1e-9)
	require.Zero(t, later.Capacity, "no host reported that minute")
	h := readCoarse(t, pool, "watermark_1h", stream, QueueSlots, m0)
	require.Equal(t, 2, h.Minutes)
}
