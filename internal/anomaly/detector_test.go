package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func newModel(t testing.TB) *Model {
	m, err := NewModel(DefaultConfig())
	require.NoError(t, err)
	return m
}

// feed runs values through one state at a five-minute step and returns the
// scores and the alert positions.
func feed(m *Model, s *State, start int, values []float64) (scores []float64, alerts []int) {
	for i, v := range values {
		t := t0.Add(time.Duration(start+i) * 5 * time.Minute).UnixNano()
		sc, a := m.Update(s, t, v)
		scores = append(scores, sc)
		if a {
			alerts = append(alerts, start+i)
		}
	}
	return scores, alerts
}

func noise(r *rand.Rand, n int, level, sd float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = level + sd*r.NormFloat64()
	}
	return out
}

func TestScoresAlwaysInRange(t *testing.T) {
	m := newModel(t)
	r := rand.New(rand.NewPCG(1, 2))
	weird := []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0, -0, 1e308, -1e308, 5e-324, math.MaxFloat64}
	var s State
	for i := 0; i < 20000; i++ {
		var v float64
		switch r.IntN(4) {
		case 0:
			v = weird[r.IntN(len(weird))]
		case 1:
			v = r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		default:
			v = 50 + r.NormFloat64()
		}
		// time jumps back, repeats and gaps too
		ts := t0.Add(time.Duration(i*300+r.IntN(3)*86400-86400) * time.Second).UnixNano()
		sc, _ := m.Update(&s, ts, v)
		require.False(t, math.IsNaN(sc), "sample %d (%v) scored NaN", i, v)
		require.True(t, sc >= 0 && sc <= 1, "sample %d (%v) scored %v", i, v, sc)
	}
	// and the state is not poisoned by them
	for _, f := range []float64{s.Fast, s.Short, s.Long, s.Dev1, s.Dev2, s.Heat, s.G, s.Spike.Total, s.Shift.Total, s.LevelsTotal} {
		require.False(t, math.IsNaN(f) || math.IsInf(f, 0), "state holds %v", f)
	}
}

func TestNaNAndInfAreSkipped(t *testing.T) {
	m := newModel(t)
	r := rand.New(rand.NewPCG(3, 4))
	var a, b State
	values := noise(r, 500, 10, 1)
	feed(m, &a, 0, values)
	for i, v := range values {
		ts := t0.Add(time.Duration(i) * 5 * time.Minute).UnixNano()
		m.Update(&b, ts, v)
		sc, alert := m.Update(&b, ts, math.NaN())
		require.Zero(t, sc)
		require.False(t, alert)
		m.Update(&b, ts, math.Inf(1))
	}
	require.Equal(t, a, b, "NaN and Inf samples must leave the state as it was")
}

func TestConstantSeriesIsQuietUntilItChanges(t *testing.T) {
	m := newModel(t)
	var s State
	flat := make([]float64, 3000)
	for i := range flat {
		flat[i] = 42
	}
	scores, alerts := feed(m, &s, 0, flat)
	require.Empty(t, alerts)
	for _, sc := range scores {
		require.Zero(t, sc)
	}
	_, alerts = feed(m, &s, 3000, []float64{42, 42, 80, 80, 80})
	require.NotEmpty(t, alerts, "a constant series that jumps is an anomaly")
}

func TestSpikeAndLevelShiftAlert(t *testing.T) {
	m := newModel(t)
	r := rand.New(rand.NewPCG(5, 6))
	var s State
	_, alerts := feed(m, &s, 0, noise(r, 3000, 50, 2))
	// The NAB-optimal threshold is sensitive: pure noise alerts about once
	// every 800 samples (docs/anomaly.md).
	require.LessOrEqual(t, len(alerts), 8)
	s.Hold = 0

	spike := noise(r, 10, 50, 2)
	spike[5] = 90
	_, alerts = feed(m, &s, 3000, spike)
	require.Equal(t, []int{3005}, alerts)

	var s2 State
	feed(m, &s2, 0, noise(r, 3000, 50, 2))
	s2.Hold = 0
	_, alerts = feed(m, &s2, 3000, noise(r, 50, 58, 2))
	require.NotEmpty(t, alerts, "a level shift of four deviations alerts")
	require.Less(t, alerts[0], 3020, "and soon")
	require.Len(t, alerts, 1, "once: the hold keeps one event to one alert")
}

func TestDailyJobIsRoutine(t *testing.T) {
	m := newModel(t)
	r := rand.New(rand.NewPCG(7, 8))
	var s State
	values := noise(r, 288*14, 20, 1)
	for d := 0; d < 14; d++ {
		for k := 0; k < 6; k++ {
			values[d*288+36+k] = 95 // a nightly job at 03:00 for half an hour
		}
	}
	_, alerts := feed(m, &s, 0, values)
	late := 0
	for _, a := range alerts {
		if a > 288*4 {
			late++
		}
	}
	require.Zero(t, late, "after a few days the nightly job no longer alerts: %v", alerts)
}

func TestCounterResetIsNotAnAnomaly(t *testing.T) {
	m := newModel(t)
	r := rand.New(rand.NewPCG(9, 10))
	var s State
	var values []float64
	c := 0.0
	for i := 0; i < 4000; i++ {
		if i == 2500 {
			c = 0 // the process restarted
		}
		c += 100 + 10*r.NormFloat64()
		values = append(values, c)
	}
	_, alerts := feed(m, &s, 0, values)
	for _, a := range alerts {
		require.False(t, a >= 2500 && a < 2510, "the reset at 2500 alerted: %v", alerts)
	}
	require.LessOrEqual(t, len(alerts), 8, "noisy increments alert no more than noise does")
	require.Equal(t, int64(1), s.Counter, "a series that only rises is scored as a counter")
	s.Hold = 0

	// its rate tripling is an anomaly
	for i := 0; i < 20; i++ {
		c += 300
		values = append(values, c)
	}
	_, alerts = feed(m, &s, 4000, values[4000:])
	require.NotEmpty(t, alerts)
}

func TestGapsDoNotBreakScoring(t *testing.T) {
	m := newModel(t)
	r := rand.New(rand.NewPCG(11, 12))
	var s State
	feed(m, &s, 0, noise(r, 2000, 10, 1))
	// six hours missing, then the same behaviour: nothing to see
	s.Hold = 0
	scores, _ := feed(m, &s, 2072, noise(r, 12, 10, 1))
	for i, sc := range scores {
		require.Less(t, sc, m.Config().Threshold, "sample %d after the gap", i)
	}
	require.InDelta(t, float64(5*time.Minute), s.Step, float64(time.Second))
}

func TestStateRoundTrip(t *testing.T) {
	m := newModel(t)
	r := rand.New(rand.NewPCG(13, 14))
	var a State
	values := noise(r, 3000, 10, 1)
	feed(m, &a, 0, values[:2000])
	data, err := a.MarshalBinary()
	require.NoError(t, err)
	require.Len(t, data, StateSize())
	var b State
	require.NoError(t, b.UnmarshalBinary(data))
	require.Equal(t, a, b)
	// both continue identically, as a restarted server would
	sa, _ := feed(m, &a, 2000, values[2000:])
	sb, _ := feed(m, &b, 2000, values[2000:])
	require.Equal(t, sa, sb)

	require.Error(t, b.UnmarshalBinary(data[:10]))
	require.Error(t, b.UnmarshalBinary(append([]byte{99}, data[1:]...)))
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	c := DefaultConfig()
	c.Threshold = 0
	c.LongHalfLife = -1
	err := c.Validate()
	require.ErrorContains(t, err, "Threshold")
	require.ErrorContains(t, err, "LongHalfLife")
}

func TestFastLog2(t *testing.T) {
	for _, x := range []float64{1e-300, 1e-9, 0.001, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 10, 1234.5, 1e9, 1e300} {
		require.InDelta(t, math.Log2(x), fastLog2(x), 2e-4, "%g", x)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 100000; i++ {
		x := math.Exp(r.NormFloat64() * 20)
		require.InDelta(t, math.Log2(x), fastLog2(x), 2e-4, "%g", x)
	}
}

// TestScaleInvariance: the same shape in bytes or in percent, shifted or
// not, raises the same alerts: every quantity the detector judges is a ratio.
func TestScaleInvariance(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	base := noise(r, 3000, 50, 3)
	base[2500] = 95
	for k := 2700; k < 2800; k++ {
		base[k] += 15
	}
	var ref []int
	for i, f := range []func(float64) float64{
		func(v float64) float64 { return v },
		func(v float64) float64 { return v * 1e12 },
		func(v float64) float64 { return v*1e-6 + 3 },
	} {
		vals := make([]float64, len(base))
		for k, v := range base {
			vals[k] = f(v)
		}
		d, err := NewDetector(DefaultConfig())
		require.NoError(t, err)
		var alerts []int
		for k, v := range vals {
			if _, a := d.Update(t0.Add(time.Duration(k)*time.Minute), v); a {
				alerts = append(alerts, k)
			}
		}
		if i == 0 {
			ref = alerts
			require.Contains(t, alerts, 2500)
			continue
		}
		require.Equal(t, ref, alerts, "transform %d", i)
	}
}
