package app

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/sim"
	"github.com/teslaops/tesla/migrations"
)

// realAlibabaV2018 returns the folder of the real Alibaba v2018 files beside the
// repository (../shared/data/alibaba/v2018 from the module root), or skips.
func realAlibabaV2018(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
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

// TestSimulatorNeverTouchesImportedHosts imports the real Alibaba v2018 trace
// into a database whose demo fleet is ticking, and checks that the simulator
// writes nothing about the imported hosts: not a sample, not a heartbeat, not a
// state change.
func TestSimulatorNeverTouchesImportedHosts(t *testing.T) {
	data := realAlibabaV2018(t)
	d := dbtest.NewDatabase(t, db.Options{})
	t.Setenv("DATABASE_URL", d.URL)
	t.Setenv("TESLA_LOG_LEVEL", "error")
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	_, err := sim.Seed(ctx, d.Pool, sim.Config{Clusters: 2, Hosts: 40, People: 8, Days: 1, Step: 5 * time.Minute}, logger)
	require.NoError(t, err)

	// The ticker runs all along, the import happens while it does.
	tk := sim.NewTicker(d.Pool, sim.TickerConfig{Interval: 200 * time.Millisecond, Resolution: time.Second, WorkloadEvery: 200 * time.Millisecond}, logger)
	tickCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = tk.Run(tickCtx) }()
	defer func() { stop(); <-done }()

	out, err := run(t, "import", "alibaba-v2018", "--meta", filepath.Join(data, "machine_meta.csv"),
		"--usage", filepath.Join(data, "machine_usage_sample.csv"))
	require.NoError(t, err, out)

	// What the import wrote about its hosts, as a fingerprint.
	fingerprint := func() string {
		var s string
		require.NoError(t, d.Pool.QueryRow(ctx, `
			SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), ''))
			FROM (
				SELECT format('%s/%s/%s/%s/%s', h.hostname, h.state, h.state_reason, h.last_heartbeat, h.state_changed_at) AS x
				FROM host h JOIN cluster c ON c.id = h.cluster_id WHERE c.name = 'alibaba-v2018'
				UNION ALL
				SELECT format('%s/%s/%s/%s/%s/%s/%s/%s', m.host_id, m.ts, m.cpu_pct, m.mem_pct, m.disk_io_pct, m.net_in_bps, m.net_out_bps, m.containers)
				FROM host_metric m JOIN host h ON h.id = m.host_id JOIN cluster c ON c.id = h.cluster_id
				WHERE c.name = 'alibaba-v2018'
				UNION ALL
				SELECT format('c/%s/%s/%s', hc.host_id, hc.component, hc.actual_state)
				FROM host_component hc JOIN host h ON h.id = hc.host_id JOIN cluster c ON c.id = h.cluster_id
				WHERE c.name = 'alibaba-v2018'
			) AS rows`).Scan(&s))
		return s
	}
	before := fingerprint()
	var simBeat time.Time
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT max(h.last_heartbeat) FROM host h JOIN cluster c ON c.id = h.cluster_id
		WHERE c.simulated`).Scan(&simBeat))

	// More ticks, live and at later minutes (each of which would give every
	// host it drives a new sample).
	time.Sleep(time.Second)
	for i := 1; i <= 3; i++ {
		_, err := tk.Tick(ctx, time.Now().Add(time.Duration(i)*time.Minute))
		require.NoError(t, err)
	}
	stop()
	<-done

	require.Equal(t, before, fingerprint(), "the simulator wrote about imported hosts")
	// Exactly the trace's samples: 51,362 rows of m_1932..m_1939, nothing on the rest.
	var samples, withSamples int
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT m.host_id) FROM host_metric m
		JOIN host h ON h.id = m.host_id JOIN cluster c ON c.id = h.cluster_id WHERE c.name = 'alibaba-v2018'`).Scan(&samples, &withSamples))
	require.Equal(t, 51362, samples)
	require.Equal(t, 8, withSamples)
	// No imported host beats later than its own newest sample.
	var beatsAhead int
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM host h JOIN cluster c ON c.id = h.cluster_id
		WHERE c.name = 'alibaba-v2018' AND h.last_heartbeat > coalesce((SELECT max(ts) FROM host_metric WHERE host_id = h.id), '-infinity')`).Scan(&beatsAhead))
	require.Zero(t, beatsAhead)
	// …while the demo fleet did tick.
	var simBeatAfter time.Time
	var simulated, real int
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT max(h.last_heartbeat) FROM host h JOIN cluster c ON c.id = h.cluster_id
		WHERE c.simulated`).Scan(&simBeatAfter))
	require.True(t, simBeatAfter.After(simBeat.Add(time.Minute)), "the demo fleet ticked: %s then %s", simBeat, simBeatAfter)
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE simulated), count(*) FILTER (WHERE NOT simulated) FROM cluster`).Scan(&simulated, &real))
	require.Equal(t, 2, simulated)
	require.Equal(t, 1, real)

	// A demo database from before migration 0018: its UPDATE marks the seed's
	// clusters and not the imported one.
	raw, err := migrations.Files.ReadFile("0018_host_agent.sql")
	require.NoError(t, err)
	mark := string(raw[strings.Index(string(raw), "UPDATE cluster SET simulated = true"):])
	_, err = d.Pool.Exec(ctx, `UPDATE cluster SET simulated = false`)
	require.NoError(t, err)
	_, err = d.Pool.Exec(ctx, mark)
	require.NoError(t, err)
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE simulated), count(*) FILTER (WHERE NOT simulated AND name = 'alibaba-v2018')
		FROM cluster`).Scan(&simulated, &real))
	require.Equal(t, 2, simulated, "the seed's clusters")
	require.Equal(t, 1, real, "the import's cluster stays real")
}
