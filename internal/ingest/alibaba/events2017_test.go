package alibaba_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/ingest/alibaba"
)

// realEvents returns ../shared/data/alibaba/v2017/server_event.csv, or skips.
func realEvents(t testing.TB) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(realDataDir(t)), "v2017", "server_event.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real Alibaba v2017 data not available (%v): skipping; it lives in ../shared/data/alibaba/v2017 next to the repository", err)
	}
	return path
}

// TestImportRealServerEvents imports the real server_event.csv: 1,313 machines
// added at trace second 0, and 16 hardware softerror lines (machine_fail 15,
// nc_diskless 1), of which machine 930's twelve machine_fail reports, about
// two hours apart, are one fault: 5 faults. The 22 software and capacity
// softerrors are left out. A second import changes nothing.
func TestImportRealServerEvents(t *testing.T) {
	t.Parallel()
	path := realEvents(t)
	pool := dbtest.New(t)
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := alibaba.ImportEvents(ctx, pool, logger, alibaba.EventOptions{Path: path})
	require.NoError(t, err)
	require.EqualValues(t, 1352, st.Lines)
	require.Zero(t, st.Skipped, "%v", st.Warnings)
	require.EqualValues(t, 1313, st.Machines)
	require.EqualValues(t, 1313, st.Hosts)
	require.EqualValues(t, 1313, st.Lifecycle)
	require.EqualValues(t, 16, st.Reports)
	require.EqualValues(t, 5, st.Faults)
	require.EqualValues(t, 5, st.Accepted)
	require.Equal(t, map[string]int64{"agent_check": 19, "daemon_check": 3, "disk_full": 1}, st.NotHardware)
	require.Empty(t, st.Warnings)

	var detail string
	var detected time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT f.detail, f.detected_at FROM hardware_fault f JOIN host h ON h.id = f.host_id
		WHERE h.hostname = 'alibaba-v2017-930'`).Scan(&detail, &detected))
	require.Contains(t, detail, "reported 12 times from trace second 777 to 81179")
	require.Equal(t, alibaba.DefaultTaskStart.Add(777*time.Second), detected.UTC())

	var disk, board int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE component = 'DISK'), count(*) FILTER (WHERE component = 'BOARD')
		FROM hardware_fault`).Scan(&disk, &board))
	require.Equal(t, 1, disk)
	require.Equal(t, 4, board)

	// Present at the trace's start: age unknown, watched for the trace's day.
	var inService *time.Time
	var since, until time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT l.in_service_at, l.tracked_since, l.tracked_until FROM host_lifecycle l
		JOIN host h ON h.id = l.host_id WHERE h.hostname = 'alibaba-v2017-1'`).Scan(&inService, &since, &until))
	require.Nil(t, inService)
	require.Equal(t, alibaba.DefaultTaskStart, since.UTC())
	require.Equal(t, 24*time.Hour, until.Sub(since))

	again, err := alibaba.ImportEvents(ctx, pool, logger, alibaba.EventOptions{Path: path})
	require.NoError(t, err)
	require.Zero(t, again.Hosts, "a re-import rewrites no host")
	require.Zero(t, again.Lifecycle, "nor any lifecycle")
	require.Zero(t, again.Accepted)
	require.EqualValues(t, 5, again.Duplicates)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM hardware_fault`).Scan(&n))
	require.Equal(t, 5, n)
}

func TestImportServerEventsBadLines(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "server_event.csv")
	lines := []string{
		"0,1,add,,64,0.69,1",
		"0,2,add,,64,0.69,1",
		"3600,3,add,,32,0.5,0.5",
		"100,1,softerror,machine_fail,0,0,0",
		"100,2,softerror,nc_diskless,0,0,0",
		"20000,2,softerror,nc_diskless,0,0,0", // 19,900 s later: a second fault
		"x,1,add,,64,0.69,1",
		"5,9,softerror,machine_fail,0,0,0", // never added
		"5,1,reboot,,0,0,0",
		"5,1,add,,64",
		"7200,3,remove,,0,0,0",
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	st, err := alibaba.ImportEvents(context.Background(), pool, slog.New(slog.NewTextHandler(io.Discard, nil)), alibaba.EventOptions{Path: path})
	require.NoError(t, err)
	require.EqualValues(t, 3, st.Skipped)
	require.Len(t, st.Warnings, 4, "three bad lines and one machine never added: %v", st.Warnings)
	require.Contains(t, st.Warnings[0], "line 7")
	require.EqualValues(t, 4, st.Faults)
	require.EqualValues(t, 3, st.Accepted)

	var state string
	var inService, until time.Time
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT h.state, l.in_service_at, l.tracked_until FROM host h
		JOIN host_lifecycle l ON l.host_id = h.id WHERE h.hostname = 'alibaba-v2017-3'`).Scan(&state, &inService, &until))
	require.Equal(t, "DECOMMISSIONED", state)
	require.Equal(t, alibaba.DefaultTaskStart.Add(time.Hour), inService.UTC(), "added during the trace: its in-service date")
	require.Equal(t, alibaba.DefaultTaskStart.Add(2*time.Hour), until.UTC(), "watched until its removal")

	_, err = alibaba.ImportEvents(context.Background(), pool, slog.New(slog.NewTextHandler(io.Discard, nil)),
		alibaba.EventOptions{Path: filepath.Join(dir, "missing.csv")})
	require.Error(t, err)
}
