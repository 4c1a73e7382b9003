package sim

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fault"
)

// testNow is a Wednesday noon: a week of history ends before any weekend effect
// can muddle day-to-day comparisons of the last few days.
var testNow = time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC)

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{Now: time.Date(2026, 3, 11, 12, 7, 31, 0, time.FixedZone("x", 3600))}.withDefaults()
	require.Equal(t, uint64(DefaultSeed), c.Seed)
	require.Equal(t, DefaultClusters, c.Clusters)
	require.Equal(t, DefaultHosts, c.Hosts)
	require.Equal(t, DefaultPeople, c.People)
	require.Equal(t, DefaultDays, c.Days)
	require.Equal(t, DefaultStep, c.Step)
	require.Equal(t, time.Date(2026, 3, 11, 11, 5, 0, 0, time.UTC), c.Now, "Now is UTC, truncated to Step")
	require.NoError(t, c.validate())
	require.Equal(t, 7*288, c.samplesPerHost())

	c = Config{}.withDefaults()
	require.False(t, c.Now.IsZero(), "a zero Now is resolved to the clock")
	require.Equal(t, c.Now, c.Now.Truncate(DefaultStep))
}

func TestConfigValidationNamesTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"negative clusters", Config{Clusters: -1}, "Clusters"},
		{"too many clusters", Config{Clusters: MaxClusters + 1, Hosts: MaxHosts}, "Clusters"},
		{"negative hosts", Config{Hosts: -5}, "Hosts"},
		{"fewer hosts than clusters", Config{Clusters: 12, Hosts: 11}, "Hosts"},
		{"too many hosts", Config{Hosts: MaxHosts + 1}, "Hosts"},
		{"fewer people than demo logins", Config{People: 3}, "People"},
		{"negative days", Config{Days: -1}, "Days"},
		{"too many days", Config{Days: MaxDays + 1}, "Days"},
		{"step too short", Config{Step: 30 * time.Second}, "Step"},
		{"step not dividing a day", Config{Step: 7 * time.Minute}, "Step"},
		{"step too long", Config{Step: 48 * time.Hour}, "Step"},
		{"too many samples", Config{Hosts: MaxHosts, Days: MaxDays, Step: time.Minute}, "Days"},
		{"negative largest", Config{Largest: -1}, "Largest"},
		{"largest leaving others empty", Config{Clusters: 12, Hosts: 3000, Largest: 2990}, "Largest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.cfg.withDefaults().validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.field)
			fe, ok := fault.As(err)
			require.True(t, ok, "a config error is a domain error")
			require.Equal(t, fault.Invalid, fe.Kind)
			require.Equal(t, tc.field, fe.Field)
		})
	}
	t.Run("all problems at once", func(t *testing.T) {
		t.Parallel()
		err := Config{Clusters: -1, People: 1, Step: time.Second}.withDefaults().validate()
		for _, f := range []string{"Clusters", "People", "Step"} {
			require.Contains(t, err.Error(), f)
		}
	})
}

func TestKindCounts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ n, streaming, batch, online int }{
		{1, 0, 1, 0}, {2, 1, 1, 0}, {3, 1, 1, 1}, {6, 2, 2, 2}, {12, 4, 5, 3}, {24, 8, 10, 6},
	} {
		s, b, o := kindCounts(tc.n)
		require.Equal(t, [3]int{tc.streaming, tc.batch, tc.online}, [3]int{s, b, o}, "n=%d", tc.n)
	}
}

func TestPlanFleetHonoursSizes(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Clusters: 1, Hosts: 1, People: 4, Days: 1},
		{Clusters: 3, Hosts: 60, Days: 1},
		{Clusters: 12, Hosts: 3000},
		{Clusters: 30, Hosts: 500, People: 200},
	} {
		cfg.Now = testNow
		cfg = cfg.withDefaults()
		require.NoError(t, cfg.validate())
		f := planFleet(cfg)
		require.Len(t, f.clusters, cfg.Clusters)
		require.Len(t, f.hosts, cfg.Hosts)
		require.Len(t, f.people, cfg.People)

		names, logins := map[string]bool{}, map[string]bool{}
		for _, h := range f.hosts {
			require.False(t, names[h.hostname], "duplicate hostname %s", h.hostname)
			names[h.hostname] = true
			require.Positive(t, h.cores)
			require.Positive(t, h.nicBps)
		}
		for _, p := range f.people {
			require.False(t, logins[p.login], "duplicate login %s", p.login)
			logins[p.login] = true
		}
		clusterNames := map[string]bool{}
		withComponents := map[int]bool{}
		for _, c := range f.components {
			withComponents[c.host] = true
			require.NotEmpty(t, c.version, "component %s/%s has a version", c.service, c.component)
		}
		for _, c := range f.clusters {
			require.False(t, clusterNames[c.name], "duplicate cluster %s", c.name)
			clusterNames[c.name] = true
			require.Positive(t, c.hostCount)
			require.NotNil(t, stackPackages(c.stack, c.version), "cluster %s has a known stack version", c.name)
		}
		require.Len(t, withComponents, cfg.Hosts, "every host runs components")
	}
}

func TestPlanFleetSpreadsHostsUnevenly(t *testing.T) {
	t.Parallel()
	f := planFleet(Config{Now: testNow}.withDefaults())
	byKind := map[string][]int{}
	for _, c := range f.clusters {
		byKind[c.kind] = append(byKind[c.kind], c.hostCount)
	}
	require.Len(t, byKind[kindStreaming], 4)
	require.Len(t, byKind[kindBatch], 5)
	require.Len(t, byKind[kindOnline], 3)
	require.Greater(t, minOf(byKind[kindBatch]), maxOf(byKind[kindOnline]), "batch clusters are the big ones")

	gens := map[int]int{}
	states := map[string]int{}
	for _, h := range f.hosts {
		gens[h.cores]++
		states[h.state]++
		require.True(t, strings.HasPrefix(h.hostname, f.clusters[h.cluster].name+"-r"))
	}
	require.Greater(t, gens[96], len(f.hosts)/2, "96-core machines dominate, as in the Alibaba trace")
	require.Len(t, gens, 4, "older generations are mixed in")
	require.Greater(t, states[stateOnline], len(f.hosts)*95/100)
	for _, s := range sickStates {
		require.Positive(t, states[s.state], "some hosts are %s", s.state)
	}
}

// TestPlanFleetAtFleetScale plans the fleet benchmark's fleet: 250,000 hosts in
// 200 clusters, one of exactly 20,000, which the even spread alone never gives
// (its biggest cluster stays near 2,600).
func TestPlanFleetAtFleetScale(t *testing.T) {
	t.Parallel()
	cfg := Config{Clusters: 200, Hosts: 250_000, Largest: 20_000, Days: 1, Now: testNow}.withDefaults()
	require.NoError(t, cfg.validate())
	f := planFleet(cfg)
	require.Len(t, f.hosts, 250_000)
	counts := make([]int, 0, len(f.clusters))
	names := make(map[string]bool, len(f.hosts))
	for _, c := range f.clusters {
		require.Positive(t, c.hostCount)
		counts = append(counts, c.hostCount)
	}
	for _, h := range f.hosts {
		require.False(t, names[h.hostname], "duplicate hostname %s", h.hostname)
		names[h.hostname] = true
	}
	require.Equal(t, 20_000, maxOf(counts))
	require.Equal(t, kindBatch, f.clusters[f.giantCluster()].kind)
	require.Equal(t, 20_000, f.clusters[f.giantCluster()].hostCount)
	slices.Sort(counts)
	require.Less(t, counts[len(counts)-2], 20_000/2, "one giant, not several")
}

func minOf(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = min(m, x)
	}
	return m
}

func maxOf(xs []int) int {
	m := xs[0]
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func TestDemoLoginsArePlanned(t *testing.T) {
	t.Parallel()
	f := planFleet(Config{Hosts: 12, People: 4, Days: 1, Now: testNow}.withDefaults())
	got := map[string]string{}
	for _, p := range f.people {
		got[p.login] = p.role
	}
	require.Equal(t, DemoLogins(), got)
}
