package anomaly

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/telemetry"
)

// TestScorerFindsASickHost runs the scorer minute by minute over 20 hosts of
// one cluster behaving alike (a daily-ish wave plus seeded noise) until one
// host's CPU jumps from about 30% to 95% and stays there. The jump must open a
// SELF episode (its own history) and, after three passes, a PEER episode (its
// peers carry on as before); the state saved and loaded by another scorer
// continues where the first stopped.
func TestScorerFindsASickHost(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	fixture.New(t, pool)
	cluster := fixture.Bulk(t, pool, 1, 20)[0]
	rows, err := pool.Query(ctx, `SELECT id FROM host WHERE cluster_id = $1 ORDER BY id`, cluster)
	require.NoError(t, err)
	var hosts []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		hosts = append(hosts, id)
	}
	require.NoError(t, rows.Err())
	// Only these hosts report: the fixture's own and the bulk hosts' single
	// samples are out of the way.
	_, err = pool.Exec(ctx, `UPDATE host SET state = 'ONLINE' WHERE cluster_id = $1`, cluster)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET state = 'MAINTENANCE' WHERE cluster_id <> $1`, cluster)
	require.NoError(t, err)

	// After the fixture's own samples (stamped now), so each new one is the newest.
	start := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	clock := start
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	episodes := NewEpisodes(pool, audit.New(pool, logger), EpisodeConfig{})
	cfg := ScorerConfig{Now: func() time.Time { return clock }}
	s, err := NewScorer(pool, episodes, logger, cfg)
	require.NoError(t, err)
	w := telemetry.NewWriter(pool)
	rng := rand.New(rand.NewPCG(4, 2))
	sick := hosts[7]
	const sickFrom = 400
	f32 := func(v float64) *float32 { x := float32(v); return &x }
	f64 := func(v float64) *float64 { return &v }
	i32 := func(v int32) *int32 { return &v }
	for minute := range 460 {
		clock = start.Add(time.Duration(minute) * time.Minute)
		var batch []telemetry.Sample
		for i, h := range hosts {
			cpu := 30 + 5*float64(minute%120)/120 + rng.NormFloat64()
			if h == sick && minute >= sickFrom {
				cpu = 95 + rng.NormFloat64()/2
			}
			batch = append(batch, telemetry.Sample{HostID: h, TS: clock, CPUPct: f32(cpu), MemPct: f32(50 + rng.NormFloat64()),
				DiskIOPct: f32(10 + rng.NormFloat64()), NetInBps: f64(1e8 + 1e6*rng.NormFloat64()),
				NetOutBps: f64(5e7 + 1e6*rng.NormFloat64()), Containers: i32(int32(6 + i%2))})
		}
		_, err := w.Write(ctx, &telemetry.SliceSource{Samples: batch})
		require.NoError(t, err)
		p, err := s.PassOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, len(hosts), p.Hosts, "minute %d: every host's new sample scored once", minute)
		// A second pass with no new samples scores nothing.
		if minute == 10 {
			p, err = s.PassOnce(ctx)
			require.NoError(t, err)
			require.Zero(t, p.Samples)
		}
		if minute == 300 {
			// Another replica takes over from the saved state.
			require.NoError(t, s.Save(ctx))
			s2, err := NewScorer(pool, episodes, logger, cfg)
			require.NoError(t, err)
			require.NoError(t, s2.load(ctx))
			require.Len(t, s2.hosts, len(hosts))
			require.Equal(t, s.hosts[sick].states[0], s2.hosts[sick].states[0])
			s = s2
		}
	}

	viewer := auth.WithPrincipal(ctx, &auth.Principal{PersonID: 1, Role: auth.Viewer})
	got, err := episodes.List(viewer, Filter{HostID: &sick, Metric: "CPU"}, page.Args{})
	require.NoError(t, err)
	for _, e := range got.Items {
		t.Logf("%s %s %s..%v peak %.2f at %v", e.Kind, e.Severity, e.StartedAt.Sub(start), e.LastSeenAt.Sub(start), e.PeakScore, e.PeakAt.Sub(start))
	}
	kinds := map[string]*Episode{}
	for _, e := range got.Items { // newest first: keep each kind's newest
		if kinds[e.Kind] == nil {
			kinds[e.Kind] = e
		}
	}
	require.Contains(t, kinds, KindSelf, "the jump against its own history")
	require.Contains(t, kinds, KindPeer, "the jump against its peers")
	self := kinds[KindSelf]
	require.False(t, self.StartedAt.Before(start.Add(sickFrom*time.Minute)))
	require.True(t, self.StartedAt.Before(start.Add((sickFrom+5)*time.Minute)), "raised within 5 minutes: %v", self.StartedAt)
	require.Equal(t, start.Add((sickFrom+2)*time.Minute), kinds[KindPeer].StartedAt, "peers: after three passes")
	require.InDelta(t, 30, *kinds[KindPeer].Baseline, 6, "the peers' median")

	// The other hosts, alike and steady, raise few episodes of their own.
	all, err := episodes.List(viewer, Filter{}, page.Args{First: ptr(100)})
	require.NoError(t, err)
	others := 0
	for _, e := range all.Items {
		if e.HostID != sick {
			others++
		}
	}
	t.Logf("episodes of the sick host's CPU: %d; of the 19 others: %d", len(got.Items), others)
	// 7 with this seed: one per ~8,000 samples of pure noise.
	require.LessOrEqual(t, others, 10, "false alarms over 20 hosts × 6 metrics × 460 minutes")
}
