package hardware

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
)

// The figures the hardware-reliability job stores are the ones computed on
// demand, the reads serve them (and not the database's later state) until a
// change marked through this package or their age makes the job recompute,
// and figures the job stopped refreshing are not served.
func TestRefreshStoresTheDirectComputation(t *testing.T) {
	t.Parallel()
	s, pool, f := env(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	s.now = func() time.Time { return now }
	old, young := now.AddDate(-6, 0, 0), now.AddDate(-2, -3, 0)
	expired, valid := now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)
	a, b, c, d := f.Hosts["online-1-n01"], f.Hosts["online-1-n02"], f.Hosts["online-1-n04"], f.Hosts["batch-wh-1-n01"]
	_, err := pool.Exec(ctx, `UPDATE host SET model = CASE WHEN id = $3 THEN 'Solid' ELSE 'Flaky' END
		WHERE id = ANY(ARRAY[$1, $2, $3]::bigint[])`, a, b, c)
	require.NoError(t, err)
	_, err = ImportLifecycles(ctx, pool, "import", []Lifecycle{
		{HostID: a, TrackedSince: old, InServiceAt: &old, WarrantyEnd: &expired},
		{HostID: b, TrackedSince: young, InServiceAt: &young, WarrantyEnd: &valid},
		{HostID: c, TrackedSince: old, InServiceAt: &young, WarrantyEnd: &valid},
		{HostID: d, TrackedSince: old},
	})
	require.NoError(t, err)
	var rs []Report
	for i := range 6 {
		rs = append(rs, Report{HostID: a, Component: "DISK", Kind: "X", Severity: "HIGH", DetectedAt: now.AddDate(-i, -1, 0), Source: SourceImport})
	}
	rs = append(rs, Report{HostID: b, Component: "NIC", Kind: "X", Severity: "LOW", DetectedAt: now.AddDate(0, -2, 0), Source: SourceImport},
		Report{HostID: d, Component: "PSU", Kind: "X", Severity: "MEDIUM", DetectedAt: now.AddDate(-1, 0, 0), Source: SourceImport})
	_, err = RecordFaults(ctx, pool, rs, nil)
	require.NoError(t, err)

	viewer := as(f, fixture.Viewer, auth.Viewer)
	direct := func() (map[string][]Rate, []Candidate) {
		s.cache.clear()
		rates := map[string][]Rate{}
		for _, by := range []string{ByModel, ByAge, ByCluster} {
			rates[by], err = s.Reliability(viewer, ReliabilityQuery{GroupBy: by})
			require.NoError(t, err)
			require.NotEmpty(t, rates[by], by)
		}
		cs, err := s.HostsToReplace(viewer, MaxCandidates)
		require.NoError(t, err)
		return rates, cs
	}
	wantRates, wantCands := direct()
	require.Equal(t, a, wantCands[0].HostID)

	res, err := Refresh(ctx, pool, now, false)
	require.NoError(t, err)
	require.True(t, res.Computed)
	require.Equal(t, len(wantRates[ByModel])+len(wantRates[ByAge])+len(wantRates[ByCluster]), res.Groups)
	require.Equal(t, len(wantCands), res.Candidates)

	// A fault stored behind the package's back changes the database but not
	// the stored figures, which is how the reads are seen to serve them.
	_, err = pool.Exec(ctx, `INSERT INTO hardware_fault (host_id, component, kind, severity, detected_at, source)
		VALUES ($1, 'CPU', 'X', 'CRITICAL', $2, 'import')`, c, now.AddDate(0, -1, 0))
	require.NoError(t, err)
	gotRates, gotCands := direct()
	require.Equal(t, wantRates, gotRates)
	require.Equal(t, wantCands, gotCands)
	top3, err := s.HostsToReplace(viewer, 3)
	require.NoError(t, err)
	require.Equal(t, wantCands[:3], top3)
	ages, err := s.Reliability(viewer, ReliabilityQuery{GroupBy: ByAge, MinSeverity: "HIGH"})
	require.NoError(t, err)
	require.NotEqual(t, wantRates[ByAge], ages, "a minimum severity is computed on demand")

	// Nothing changed through the package and the figures are young: no work.
	res, err = Refresh(ctx, pool, now.Add(time.Minute), false)
	require.NoError(t, err)
	require.False(t, res.Computed)
	// Old enough: recomputed, and now the direct computation again.
	later := now.Add(RefreshEvery + time.Second)
	res, err = Refresh(ctx, pool, later, false)
	require.NoError(t, err)
	require.True(t, res.Computed)
	s.now = func() time.Time { return later }
	stored, _ := direct()
	require.Equal(t, 9, sum(stored[ByModel]), "the hidden fault is counted now")

	// A fault recorded through the package marks the figures out of date.
	_, err = RecordFaults(ctx, pool, []Report{{HostID: c, Component: "CPU", Kind: "X", Severity: "LOW",
		DetectedAt: now.AddDate(0, 0, -3), Source: SourceImport}}, nil)
	require.NoError(t, err)
	res, err = Refresh(ctx, pool, later.Add(time.Minute), false)
	require.NoError(t, err)
	require.True(t, res.Computed)
	s.now = func() time.Time { return later.Add(time.Minute) }
	stored, storedCands := direct()
	require.Equal(t, 10, sum(stored[ByModel]))
	s.now = func() time.Time { return later.Add(time.Minute + StaleAfter + time.Second) }
	_, err = pool.Exec(ctx, `DELETE FROM hardware_replacement`)
	require.NoError(t, err)
	fresh, err := s.HostsToReplace(viewer, MaxCandidates)
	require.NoError(t, err)
	require.Len(t, fresh, len(storedCands), "stale figures are computed on demand")
}

func sum(rs []Rate) int {
	n := 0
	for _, r := range rs {
		n += r.Faults
	}
	return n
}
