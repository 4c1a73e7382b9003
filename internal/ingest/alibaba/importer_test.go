package alibaba_test

import (
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/ingest/alibaba"
	"github.com/teslaops/tesla/internal/telemetry"
)

var start = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func importFiles(t testing.TB, pool *pgxpool.Pool, opt alibaba.Options) alibaba.Stats {
	t.Helper()
	st, err := alibaba.Import(context.Background(), pool, telemetry.NewWriter(pool), logger(t), opt)
	require.NoError(t, err)
	return st
}

type hostRow struct {
	ID          int64
	Rack        string
	Cores       int
	MemoryBytes int64
	DiskBytes   int64
	NICBps      int64
	State       string
	Reason      string
	Heartbeat   *time.Time
}

func loadHost(t testing.TB, pool *pgxpool.Pool, hostname string) hostRow {
	t.Helper()
	var h hostRow
	err := pool.QueryRow(context.Background(), `SELECT id, rack, cpu_cores, memory_bytes, disk_bytes, nic_bps, state,
		state_reason, last_heartbeat FROM host WHERE hostname = $1`, hostname).
		Scan(&h.ID, &h.Rack, &h.Cores, &h.MemoryBytes, &h.DiskBytes, &h.NICBps, &h.State, &h.Reason, &h.Heartbeat)
	require.NoError(t, err, hostname)
	return h
}

type metricRow struct {
	CPU, Mem, Disk *float32
	NetIn, NetOut  *float64
}

func loadMetric(t testing.TB, pool *pgxpool.Pool, hostID int64, ts time.Time) metricRow {
	t.Helper()
	var m metricRow
	err := pool.QueryRow(context.Background(), `SELECT cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps
		FROM host_metric WHERE host_id = $1 AND ts = $2`, hostID, ts).Scan(&m.CPU, &m.Mem, &m.Disk, &m.NetIn, &m.NetOut)
	require.NoError(t, err, "sample of host %d at %s", hostID, ts)
	return m
}

func count(t testing.TB, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func requireWarning(t *testing.T, warnings []string, want string) {
	t.Helper()
	for _, w := range warnings {
		if strings.Contains(w, want) {
			return
		}
	}
	require.Failf(t, "warning missing", "no warning contains %q in:\n%s", want, strings.Join(warnings, "\n"))
}

func requireF32(t *testing.T, want float32, got *float32, name string) {
	t.Helper()
	require.NotNil(t, got, name)
	require.InDelta(t, want, *got, 1e-4, name)
}

func requireF64(t *testing.T, want float64, got *float64, name string) {
	t.Helper()
	require.NotNil(t, got, name)
	require.InDelta(t, want, *got, 1e-3, name)
}

func synthetic() alibaba.Options {
	return alibaba.Options{
		MetaPath:  filepath.Join("testdata", "machine_meta.csv"),
		UsagePath: filepath.Join("testdata", "machine_usage.csv"),
		Start:     start,
	}
}

func TestImportSyntheticFiles(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	st := importFiles(t, pool, synthetic())

	// Meta: m_4 (bad time_stamp) and m_5 (6 fields) are skipped with their lines.
	require.EqualValues(t, 3, st.Machines)
	require.EqualValues(t, 3, st.Hosts)
	requireWarning(t, st.Warnings, "machine_meta line 7: missing machine_id or bad time_stamp")
	requireWarning(t, st.Warnings, "machine_meta line 8: expected 7 fields, got 6")

	// Usage: 14 non-blank lines; lines 8 (non-numeric cpu), 9 (4 fields) and 11
	// (bad time_stamp) are bad, m_9's two rows have no machine; line 12 repeats
	// m_1 at second 120.
	require.EqualValues(t, 14, st.Rows)
	require.EqualValues(t, 9, st.Samples)
	require.EqualValues(t, 8, st.Accepted)
	require.EqualValues(t, 1, st.Duplicates)
	require.EqualValues(t, 5, st.Skipped)
	require.EqualValues(t, 3, st.InvalidValues) // disk -1, disk 101, cpu 120
	require.True(t, st.Start.Equal(start))
	requireWarning(t, st.Warnings, `machine_usage line 8: cpu_util_percent "abc" is not a number, skipped`)
	requireWarning(t, st.Warnings, "machine_usage line 9: expected 9 fields, got 4, skipped")
	requireWarning(t, st.Warnings, `machine_usage line 11: time_stamp "xyz"`)
	requireWarning(t, st.Warnings, "machine m_9 is not in machine_meta nor a host of cluster alibaba-v2018: 2 rows skipped (first at line 6)")
	requireWarning(t, st.Warnings, "disk_io_percent: 2 values outside 0..100 stored as NULL")
	requireWarning(t, st.Warnings, "cpu_util_percent: 1 values outside 0..100 stored as NULL")

	ctx := context.Background()
	var kind, desc string
	var stack *int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT kind, stack_version_id, description FROM cluster WHERE name = 'alibaba-v2018'`).
		Scan(&kind, &stack, &desc))
	require.Equal(t, "BATCH", kind)
	require.Nil(t, stack)
	require.Contains(t, desc, "trace second 0 = 2026-03-01T00:00:00Z")

	m1 := loadHost(t, pool, "alibaba-v2018-m_1")
	require.Equal(t, hostRow{ID: m1.ID, Rack: "10", Cores: 96, MemoryBytes: 512 << 30, DiskBytes: 12e12, NICBps: 10e9,
		State: "ONLINE", Heartbeat: m1.Heartbeat}, m1)
	require.NotNil(t, m1.Heartbeat)
	require.True(t, m1.Heartbeat.Equal(start.Add(180*time.Second)), "heartbeat = latest sample")
	m2 := loadHost(t, pool, "alibaba-v2018-m_2")
	require.Equal(t, 64, m2.Cores)
	require.EqualValues(t, 256<<30, m2.MemoryBytes)
	require.Equal(t, "MAINTENANCE", m2.State, "latest event is IMPORT_INSTALLING")
	require.Equal(t, "alibaba-v2018 trace status IMPORT_INSTALLING", m2.Reason)
	m3 := loadHost(t, pool, "alibaba-v2018-m_3")
	require.Equal(t, "ONLINE", m3.State, "the latest event by time_stamp wins, not the last line")

	// Out-of-order rows land at their own times.
	s := loadMetric(t, pool, m1.ID, start.Add(60*time.Second))
	requireF32(t, 40, s.CPU, "cpu")
	requireF32(t, 91, s.Mem, "mem")
	requireF64(t, 4.3e9, s.NetIn, "net in: 43 % of 10 Gbit/s")
	requireF64(t, 3.3e9, s.NetOut, "net out")
	requireF32(t, 4, s.Disk, "disk")
	// disk -1 is the trace's abnormal marker: NULL, the rest kept.
	s = loadMetric(t, pool, m1.ID, start.Add(180*time.Second))
	require.Nil(t, s.Disk)
	requireF32(t, 42, s.CPU, "cpu")
	// Empty fields are NULL.
	s = loadMetric(t, pool, m2.ID, start.Add(60*time.Second))
	require.Nil(t, s.CPU)
	requireF32(t, 88, s.Mem, "mem")
	require.Nil(t, s.NetIn)
	require.Nil(t, s.NetOut)
	require.Nil(t, s.Disk)
	s = loadMetric(t, pool, m2.ID, start.Add(150*time.Second))
	require.Nil(t, s.CPU, "cpu 120 is out of range")
	requireF32(t, 50, s.Mem, "mem")
	// A fractional time_stamp is truncated to the second; a CRLF line is read.
	s = loadMetric(t, pool, m3.ID, start.Add(60*time.Second))
	requireF32(t, 50, s.CPU, "cpu")
	s = loadMetric(t, pool, m3.ID, start.Add(120*time.Second))
	requireF32(t, 50, s.Disk, "disk")

	require.EqualValues(t, 8, count(t, pool, `SELECT count(*) FROM host_metric m JOIN host h ON h.id = m.host_id
		JOIN cluster c ON c.id = h.cluster_id WHERE c.name = 'alibaba-v2018'`))
	require.Positive(t, count(t, pool, `SELECT count(*) FROM rollup_dirty WHERE minute = $1`, start.Add(time.Minute)))

	// A second run changes nothing.
	again := importFiles(t, pool, synthetic())
	require.Zero(t, again.Hosts)
	require.Zero(t, again.Accepted)
	require.EqualValues(t, 9, again.Duplicates)
	require.EqualValues(t, 3, count(t, pool, `SELECT count(*) FROM host WHERE hostname LIKE 'alibaba-v2018-%'`))
}

func TestImportReusesRecordedStartAndReadsGzip(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	opt := synthetic()
	opt.Start = time.Time{}
	opt.Cluster = "ali_test"
	before := time.Now().UTC().Truncate(time.Minute)
	first := importFiles(t, pool, opt)
	after := time.Now().UTC().Truncate(time.Minute)
	// The largest time_stamp in the file is 240 (line 8): it lands at this minute.
	require.False(t, first.Start.Add(240*time.Second).Before(before))
	require.False(t, first.Start.Add(240*time.Second).After(after))
	require.EqualValues(t, 8, first.Accepted)
	m1 := loadHost(t, pool, "ali_test-m_1")
	loadMetric(t, pool, m1.ID, first.Start.Add(60*time.Second))

	// The same usage, gzipped and without meta: the hosts are found in the
	// cluster and the recorded start is reused, so nothing new is stored.
	gz := filepath.Join(t.TempDir(), "machine_usage.csv.gz")
	gzipFile(t, opt.UsagePath, gz)
	second := importFiles(t, pool, alibaba.Options{UsagePath: gz, Cluster: "ali_test"})
	require.True(t, second.Start.Equal(first.Start), "start %s, first %s", second.Start, first.Start)
	require.EqualValues(t, 14, second.Rows)
	require.Zero(t, second.Accepted)
	require.EqualValues(t, 9, second.Duplicates)

	// An explicit, different start is honoured, with a warning.
	third := importFiles(t, pool, alibaba.Options{UsagePath: gz, Cluster: "ali_test", Start: start})
	require.EqualValues(t, 8, third.Accepted)
	requireWarning(t, third.Warnings, "differs from the")
}

func gzipFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.Create(to)
	require.NoError(t, err)
	zw := gzip.NewWriter(out)
	_, err = io.Copy(zw, in)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, out.Close())
}

func TestImportRejectsMissingFilesBeforeWriting(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	w := telemetry.NewWriter(pool)

	_, err := alibaba.Import(ctx, pool, w, logger(t), alibaba.Options{
		MetaPath: filepath.Join("testdata", "machine_meta.csv"), UsagePath: filepath.Join("testdata", "nope.csv")})
	require.ErrorContains(t, err, "error opening machine_usage file")
	require.ErrorContains(t, err, "nope.csv")
	require.ErrorIs(t, err, os.ErrNotExist)

	_, err = alibaba.Import(ctx, pool, w, logger(t), alibaba.Options{MetaPath: "testdata"})
	require.ErrorContains(t, err, "machine_meta file: testdata is a directory")

	_, err = alibaba.Import(ctx, pool, w, logger(t), alibaba.Options{})
	require.ErrorContains(t, err, "neither a machine_meta nor a machine_usage file")

	_, err = alibaba.Import(ctx, pool, w, logger(t), alibaba.Options{UsagePath: filepath.Join("testdata", "machine_usage.csv")})
	require.ErrorContains(t, err, `cluster "alibaba-v2018": it does not exist; import a machine_meta file first`)

	require.Zero(t, count(t, pool, `SELECT count(*) FROM cluster WHERE name = 'alibaba-v2018'`), "nothing written")
}

func TestImportLeavesOtherClustersHostsAlone(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	var other int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO cluster (name, region, kind) VALUES ('other', 'cn-north', 'ONLINE') RETURNING id`).Scan(&other))
	_, err := pool.Exec(ctx, `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		VALUES ($1, 'alibaba-v2018-m_2', 8, 1e9, 0, 0)`, other)
	require.NoError(t, err)

	st := importFiles(t, pool, synthetic())
	require.EqualValues(t, 2, st.Hosts)
	requireWarning(t, st.Warnings, "hostname alibaba-v2018-m_2 belongs to a host of another cluster")
	requireWarning(t, st.Warnings, "machine m_2 is not in machine_meta nor a host of cluster alibaba-v2018: 3 rows skipped")
	h := loadHost(t, pool, "alibaba-v2018-m_2")
	require.Equal(t, 8, h.Cores, "the other cluster's host is untouched")
}

// The importer keeps no partitions of its own: rows on days without a
// host_metric partition — here both sides of a midnight — are stored, the writer
// creating the days' partitions.
func TestImportStoresRowsOnDaysWithoutPartitions(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	opt := synthetic()
	opt.Start = time.Date(2025, 12, 31, 23, 58, 0, 0, time.UTC)
	require.Zero(t, count(t, pool, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'host_metric'::regclass`))

	st := importFiles(t, pool, opt)
	require.EqualValues(t, 8, st.Accepted)
	require.EqualValues(t, 8, count(t, pool, `SELECT count(*) FROM host_metric`))
	require.Positive(t, count(t, pool, `SELECT count(*) FROM host_metric_20251231`))
	require.Positive(t, count(t, pool, `SELECT count(*) FROM host_metric_20260101`))
}
