package hardware

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
)

func TestPoissonIntervalMatchesTables(t *testing.T) {
	// Exact 95% limits for a Poisson count (Garwood 1936; e.g. the tables in
	// Ulm 1990, Am J Epidemiol 131:373).
	tests := []struct {
		k      int
		lo, hi float64
	}{
		{0, 0, 3.6889},
		{1, 0.0253, 5.5716},
		{3, 0.6186, 8.7673},
		{10, 4.7954, 18.3904},
	}
	for _, tt := range tests {
		lo, hi := PoissonInterval(tt.k, 0.95)
		require.InDelta(t, tt.lo, lo, 1e-4, "lower bound of %d", tt.k)
		require.InDelta(t, tt.hi, hi, 1e-4, "upper bound of %d", tt.k)
	}
}

// TestReliabilityHandComputed checks the rates on a case small enough to work
// out by hand. Over the window 2020-01-01 .. 2022-01-01:
//
//   - two hosts of model M1, each tracked for 2020 only (1.0021 machine-years
//     each: 366 days of a leap year over 365.25), with 3 faults between them:
//     3 / 2.0041 = 149.7 per 100 machine-years, exact 95% interval
//     [0.6186, 8.7673] / 2.0041 = [30.9, 437.5];
//   - one host of model M2 tracked for both years (731 days = 2.0014
//     machine-years) without faults: 0, interval [0, 3.6889 / 2.0014 =
//     184.3];
//   - a fault outside its host's tracked time does not count.
//
// By age: the M2 host entered service on 2019-07-01, so 2020-01-01..2020-07-01
// (182 days) is in its first year, the next 365 days in its second and the last
// 184 in its third; M1 hosts have no in-service date: unknown.
func TestReliabilityHandComputed(t *testing.T) {
	t.Parallel()
	s, pool, f := env(t)
	ctx := context.Background()
	y2020 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	y2021 := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	y2022 := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b, c := f.Hosts["online-1-n01"], f.Hosts["online-1-n02"], f.Hosts["online-1-n04"]
	_, err := pool.Exec(ctx, `UPDATE host SET model = CASE WHEN id = $3 THEN 'M2' ELSE 'M1' END WHERE id = ANY(ARRAY[$1, $2, $3]::bigint[])`, a, b, c)
	require.NoError(t, err)
	inService := time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
	_, err = ImportLifecycles(ctx, pool, "import", []Lifecycle{
		{HostID: a, TrackedSince: y2020, TrackedUntil: &y2021},
		{HostID: b, TrackedSince: y2020, TrackedUntil: &y2021},
		{HostID: c, TrackedSince: y2020, TrackedUntil: &y2022, InServiceAt: &inService},
	})
	require.NoError(t, err)
	at := func(m time.Month) time.Time { return time.Date(2020, m, 1, 0, 0, 0, 0, time.UTC) }
	_, err = RecordFaults(ctx, pool, []Report{
		{HostID: a, Component: "DISK", Kind: "X", Severity: "HIGH", DetectedAt: at(2), Source: SourceImport},
		{HostID: a, Component: "DISK", Kind: "X", Severity: "LOW", DetectedAt: at(5), Source: SourceImport},
		{HostID: b, Component: "PSU", Kind: "X", Severity: "HIGH", DetectedAt: at(9), Source: SourceImport},
		// After b's tracking ended.
		{HostID: b, Component: "PSU", Kind: "X", Severity: "HIGH", DetectedAt: y2021.Add(24 * time.Hour), Source: SourceImport},
	}, nil)
	require.NoError(t, err)

	viewer := auth.WithPrincipal(ctx, &auth.Principal{PersonID: f.People[fixture.Viewer], Role: auth.Viewer})
	rates, err := s.Reliability(viewer, ReliabilityQuery{GroupBy: ByModel, Since: y2020, Until: y2022})
	require.NoError(t, err)
	byKey := map[string]Rate{}
	for _, r := range rates {
		byKey[r.Key] = r
	}
	require.Len(t, rates, 2, "hosts without exposure in the window are left out: %+v", rates)
	m1, m2 := byKey["M1"], byKey["M2"]
	my1 := 2 * 366 / 365.25
	require.Equal(t, 2, m1.Hosts)
	require.Equal(t, 3, m1.Faults)
	require.InDelta(t, my1, m1.MachineYears, 1e-6)
	require.InDelta(t, 300/my1, m1.PerHundred, 1e-6)
	require.InDelta(t, 61.86/my1, m1.Lower, 0.01)
	require.InDelta(t, 876.73/my1, m1.Upper, 0.01)
	require.Equal(t, "M1", rates[0].Key, "highest rate first")
	require.Equal(t, 0, m2.Faults)
	require.InDelta(t, 731/365.25, m2.MachineYears, 1e-6)
	require.Zero(t, m2.PerHundred)
	require.Zero(t, m2.Lower)
	require.InDelta(t, 368.89/(731/365.25), m2.Upper, 0.01)

	// Severity HIGH and worse drops a's LOW fault.
	rates, err = s.Reliability(viewer, ReliabilityQuery{GroupBy: ByModel, Since: y2020, Until: y2022, MinSeverity: "HIGH"})
	require.NoError(t, err)
	for _, r := range rates {
		if r.Key == "M1" {
			require.Equal(t, 2, r.Faults)
		}
	}

	ages, err := s.Reliability(viewer, ReliabilityQuery{GroupBy: ByAge, Since: y2020, Until: y2022})
	require.NoError(t, err)
	got := map[string]float64{}
	var keys []string
	for _, r := range ages {
		got[r.Key] = r.MachineYears * 365.25
		keys = append(keys, r.Key)
	}
	require.Equal(t, []string{"0-1y", "1-2y", "2-3y", "unknown"}, keys, "youngest first, unknown last")
	require.InDelta(t, 182, got["0-1y"], 1e-6)
	require.InDelta(t, 365, got["1-2y"], 1e-6) // 2020-07-01 .. 2021-07-01
	require.InDelta(t, 184, got["2-3y"], 1e-6) // 2021-07-01 .. 2022-01-01
	require.InDelta(t, 2*366, got["unknown"], 1e-6)
	for _, r := range ages {
		if r.Key == "unknown" {
			require.Equal(t, 3, r.Faults)
		}
	}

	clusters, err := s.Reliability(viewer, ReliabilityQuery{GroupBy: ByCluster, Since: y2020, Until: y2022})
	require.NoError(t, err)
	require.Len(t, clusters, 1)
	require.Equal(t, "online-1", clusters[0].Label)
	require.Equal(t, 3, clusters[0].Hosts)

	_, err = s.Reliability(viewer, ReliabilityQuery{GroupBy: "RACK"})
	require.Error(t, err)
}

func TestHostsToReplaceRanksByModelAgeWarrantyAndOwnFaults(t *testing.T) {
	t.Parallel()
	s, pool, f := env(t)
	ctx := context.Background()
	now := time.Now().UTC()
	old := now.AddDate(-6, 0, 0)
	young := now.AddDate(-1, 0, 0)
	expired := now.AddDate(-1, 0, 0)
	valid := now.AddDate(1, 0, 0)
	a, b, c := f.Hosts["online-1-n01"], f.Hosts["online-1-n02"], f.Hosts["online-1-n04"]
	_, err := pool.Exec(ctx, `UPDATE host SET model = 'Flaky' WHERE id = ANY(ARRAY[$1, $2]::bigint[])`, a, b)
	require.NoError(t, err)
	_, err = ImportLifecycles(ctx, pool, "import", []Lifecycle{
		{HostID: a, TrackedSince: old, InServiceAt: &old, WarrantyEnd: &expired},
		{HostID: b, TrackedSince: young, InServiceAt: &young, WarrantyEnd: &valid},
		{HostID: c, TrackedSince: young, InServiceAt: &young, WarrantyEnd: &valid},
	})
	require.NoError(t, err)
	var rs []Report
	for i := range 6 {
		rs = append(rs, Report{HostID: a, Component: "DISK", Kind: "X", Severity: "HIGH", DetectedAt: now.AddDate(-i, -1, 0), Source: SourceImport})
	}
	rs = append(rs, Report{HostID: c, Component: "NIC", Kind: "X", Severity: "LOW", DetectedAt: now.AddDate(0, -2, 0), Source: SourceImport})
	_, err = RecordFaults(ctx, pool, rs, nil)
	require.NoError(t, err)

	cs, err := s.HostsToReplace(as(f, fixture.Viewer, auth.Viewer), 3)
	require.NoError(t, err)
	require.Len(t, cs, 3)
	require.Equal(t, a, cs[0].HostID, "the old, out-of-warranty host of the flaky model with recent faults comes first: %+v", cs)
	require.True(t, cs[0].OutOfWarranty)
	require.Equal(t, 1, cs[0].RecentFaults)
	require.Equal(t, 6, cs[0].Faults)
	require.InDelta(t, 6.0, *cs[0].AgeYears, 0.01)
	// a: Flaky's rate over its age bucket's factor, plus one recent fault, ×1.5.
	want := (cs[0].ModelRate/100*cs[0].AgeFactor + 1) * OutOfWarrantyWeight
	require.InDelta(t, want, cs[0].Score, 1e-9)
	require.Equal(t, c, cs[1].HostID, "a recent fault of its own outweighs a flaky model without one")
	for i := 1; i < len(cs); i++ {
		require.GreaterOrEqual(t, cs[i-1].Score, cs[i].Score)
	}
	require.False(t, math.IsNaN(cs[2].Score))
	_, err = s.HostsToReplace(as(f, fixture.Viewer, auth.Viewer), 0)
	require.Error(t, err)
}
