package alibaba_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/ingest/alibaba"
	"github.com/teslaops/tesla/internal/telemetry"
)

// realData returns the folder of the real Alibaba v2018 files, which live beside
// the repository in ../shared/data (never copied into it). It walks up from the
// package directory to the module root, so the test does not depend on its
// depth in the tree, and skips when the folder is absent (a fresh clone).
func realData(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(mod), "module github.com/teslaops/tesla\n") {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found above the test directory: skipping the real-data test")
		}
		dir = parent
	}
	data := filepath.Join(filepath.Dir(dir), "shared", "data", "alibaba", "v2018")
	for _, f := range []string{"machine_meta.csv", "machine_usage_sample.csv"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Skipf("real Alibaba v2018 data not available (%v): skipping; it lives in ../shared/data/alibaba/v2018 next to the repository", err)
		}
	}
	return data
}

func realOptions(t testing.TB) alibaba.Options {
	data := realData(t)
	return alibaba.Options{
		MetaPath:  filepath.Join(data, "machine_meta.csv"),
		UsagePath: filepath.Join(data, "machine_usage_sample.csv"),
		Start:     start,
	}
}

func TestImportRealTrace(t *testing.T) {
	t.Parallel()
	opt := realOptions(t)
	pool := dbtest.New(t)

	st := importFiles(t, pool, opt)
	t.Logf("real sample: %d rows in %s = %.0f rows/s", st.Rows, st.Elapsed, st.RowsPerSecond())
	require.EqualValues(t, 4034, st.Machines)
	require.EqualValues(t, 4034, st.Hosts)
	require.EqualValues(t, 51362, st.Rows)
	// Every row names one of m_1932..m_1939, all in the meta file, with a valid
	// time_stamp, and no machine reports twice in one second.
	require.EqualValues(t, 51362, st.Samples)
	require.EqualValues(t, 51362, st.Accepted)
	require.Zero(t, st.Duplicates)
	require.Zero(t, st.Skipped)
	// disk_io_percent is -1 or 101 (the trace's abnormal markers) on 11 rows.
	require.EqualValues(t, 11, st.InvalidValues)
	require.Len(t, st.Warnings, 1, "%v", st.Warnings)

	require.EqualValues(t, 4034, count(t, pool, `SELECT count(*) FROM host h JOIN cluster c ON c.id = h.cluster_id
		WHERE c.name = 'alibaba-v2018'`))
	// One machine (m_2739) was still IMPORT_INSTALLING at its last event.
	require.EqualValues(t, 1, count(t, pool, `SELECT count(*) FROM host WHERE state = 'MAINTENANCE'
		AND state_reason = 'alibaba-v2018 trace status IMPORT_INSTALLING'`))
	require.Equal(t, "MAINTENANCE", loadHost(t, pool, "alibaba-v2018-m_2739").State)
	m1932 := loadHost(t, pool, "alibaba-v2018-m_1932")
	require.Equal(t, "91", m1932.Rack)
	require.Equal(t, 96, m1932.Cores)
	require.EqualValues(t, 512<<30, m1932.MemoryBytes)

	require.EqualValues(t, 51362, count(t, pool, `SELECT count(*) FROM host_metric m JOIN host h ON h.id = m.host_id
		WHERE h.hostname LIKE 'alibaba-v2018-m\_193_'`))
	require.EqualValues(t, 11, count(t, pool, `SELECT count(*) FROM host_metric WHERE disk_io_pct IS NULL`))

	// Spot checks against the file. Line 1: m_1932,386640,41,92,,,43.04,33.08,5
	s := loadMetric(t, pool, m1932.ID, start.Add(386640*time.Second))
	requireF32(t, 41, s.CPU, "cpu")
	requireF32(t, 92, s.Mem, "mem")
	requireF64(t, 4.304e9, s.NetIn, "net in")
	requireF64(t, 3.308e9, s.NetOut, "net out")
	requireF32(t, 5, s.Disk, "disk")
	// Line 12114: m_1934,212730,72,95,,,37.49,28.09,-1
	m1934 := loadHost(t, pool, "alibaba-v2018-m_1934")
	s = loadMetric(t, pool, m1934.ID, start.Add(212730*time.Second))
	requireF32(t, 72, s.CPU, "cpu")
	requireF32(t, 95, s.Mem, "mem")
	requireF64(t, 3.749e9, s.NetIn, "net in")
	requireF64(t, 2.809e9, s.NetOut, "net out")
	require.Nil(t, s.Disk, "-1 is stored as NULL")

	// Re-importing is a no-op.
	again := importFiles(t, pool, opt)
	require.Zero(t, again.Hosts)
	require.Zero(t, again.Accepted)
	require.EqualValues(t, 51362, again.Duplicates)
	require.EqualValues(t, 51362, count(t, pool, `SELECT count(*) FROM host_metric m JOIN host h ON h.id = m.host_id
		WHERE h.hostname LIKE 'alibaba-v2018-m\_193_'`))
}

// BenchmarkImportAlibaba measures the usage import of the real 51,362-row sample
// into a fresh database (the inventory import is included: 4,034 hosts).
func BenchmarkImportAlibaba(b *testing.B) {
	opt := realOptions(b)
	var rows int64
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		pool := dbtest.New(b)
		b.StartTimer()
		st, err := alibaba.Import(context.Background(), pool, telemetry.NewWriter(pool), logger(b), opt)
		require.NoError(b, err)
		rows += st.Rows
		elapsed += st.Elapsed
	}
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
}
