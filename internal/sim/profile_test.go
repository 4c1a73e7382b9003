package sim

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/clustering"
	"github.com/teslaops/tesla/internal/telemetry"
)

func TestProfilesAreMixedAndStable(t *testing.T) {
	t.Parallel()
	f := planFleet(Config{Now: testNow}.withDefaults())
	byKind := map[string]map[Profile]int{}
	for _, h := range f.hosts {
		c := f.clusters[h.cluster]
		p := HostProfile(DefaultSeed, c.name, c.kind, h.hostname)
		require.Equal(t, Profiles[h.load.prof], p, "%s: HostProfile recomputes the seeded profile", h.hostname)
		if byKind[c.kind] == nil {
			byKind[c.kind] = map[Profile]int{}
		}
		byKind[c.kind][p]++
	}
	for kind, n := range byKind {
		t.Logf("%-9s %v", kind, n)
		require.GreaterOrEqual(t, len(n), 4, "%s clusters mix profiles", kind)
	}
	require.Greater(t, byKind[kindBatch][ProfileCompute], byKind[kindBatch][ProfileMemory], "batch is mostly executors")
	require.Greater(t, byKind[kindOnline][ProfileMemory], byKind[kindOnline][ProfileCompute], "online is mostly caches")
	require.NotEqual(t, HostProfile(1, "batch-wh-02", kindBatch, "batch-wh-02-r01-n001"),
		HostProfile(1, "batch-wh-02", kindBatch, "batch-wh-02-r01-n002")+"x")
}

// TestClusteringFindsTheProfiles seeds a demo fleet, derives its hourly sums as
// the host-hours job does, runs the machine clustering analysis and compares its
// groups with the hosts' machine profiles (adjusted Rand index). Hosts whose
// health bends their load (drained, degraded, silent) are left out of the
// comparison: their load says their state, not their profile.
func TestClusteringFindsTheProfiles(t *testing.T) {
	t.Parallel()
	cfg := Config{Clusters: 6, Hosts: 400, People: 10, Days: 2, Now: testNow}
	pool, _ := seed(t, cfg)
	ctx := context.Background()
	last := testNow.Truncate(time.Hour)
	_, err := pool.Exec(ctx, `INSERT INTO host_hour_dirty (hour)
		SELECT generate_series($1::timestamptz, $2::timestamptz, interval '1 hour') ON CONFLICT DO NOTHING`,
		last.Add(-25*time.Hour), last)
	require.NoError(t, err)
	_, err = telemetry.RollupHostHours(ctx, pool, telemetry.HostHoursConfig{Now: func() time.Time { return last.Add(time.Hour) }})
	require.NoError(t, err)

	logger := slog.New(slog.DiscardHandler)
	svc := clustering.NewService(pool, audit.New(pool, logger), clustering.Config{Now: func() time.Time { return testNow }})
	out, err := svc.RunOnce(ctx)
	require.NoError(t, err)

	rows, err := pool.Query(ctx, `
		SELECT a.label, h.hostname, h.state, c.name, c.kind
		FROM clustering_assignment a JOIN host h ON h.id = a.host_id JOIN cluster c ON c.id = h.cluster_id
		WHERE a.run_id = $1`, out.RunID)
	require.NoError(t, err)
	var truth, got, truthAll, gotAll []int
	confusion := map[Profile]map[int]int{}
	var label int
	var hostname, state, cluster, kind string
	_, err = pgx.ForEachRow(rows, []any{&label, &hostname, &state, &cluster, &kind}, func() error {
		p := HostProfile(cfg.Seed, cluster, kind, hostname)
		pi := slices.Index(Profiles, p)
		truthAll, gotAll = append(truthAll, pi), append(gotAll, label)
		if state != stateOnline {
			return nil
		}
		truth, got = append(truth, pi), append(got, label)
		if confusion[p] == nil {
			confusion[p] = map[int]int{}
		}
		confusion[p][label]++
		return nil
	})
	require.NoError(t, err)
	var b strings.Builder
	for _, p := range Profiles {
		fmt.Fprintf(&b, "\n  %-8s", p)
		for _, l := range slices.Sorted(maps.Keys(confusion[p])) {
			fmt.Fprintf(&b, " g%d:%d", l, confusion[p][l])
		}
	}
	ari, ariAll := clustering.AdjustedRand(truth, got), clustering.AdjustedRand(truthAll, gotAll)
	t.Logf("k=%d silhouette %.3f over %d hosts; ARI %.3f over %d ONLINE hosts, %.3f over all%s",
		out.K, out.Quality, out.Hosts, ari, len(truth), ariAll, b.String())
	require.GreaterOrEqual(t, ari, 0.9, "the clustering finds the machine profiles")
}
