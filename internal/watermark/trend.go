package watermark

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// trend is a straight line fitted to daily peaks: value = intercept + slope × x,
// x in days. The band lines use the ends of the slope's confidence interval, each
// with its own intercept, so together they bound where the line may be.
type trend struct {
	n                           int
	slope, intercept            float64
	slopeLow, slopeHigh         float64
	interceptLow, interceptHigh float64
}

// at is the fitted value at x.
func (t trend) at(x float64) float64 { return t.intercept + t.slope*x }

// band is the (low, high) envelope of the two band lines and the fit at x.
func (t trend) band(x float64) (float64, float64) {
	a := t.interceptLow + t.slopeLow*x
	b := t.interceptHigh + t.slopeHigh*x
	v := t.at(x)
	return min(a, b, v), max(a, b, v)
}

// theilSen fits y against x with the Theil–Sen estimator: the slope is the median
// of the slopes between every pair of points, the intercept the median of
// y − slope·x. It is chosen over least squares (and over Huber/IRLS) because a
// daily peak series has exactly the failure least squares handles worst: the odd
// anomaly day (a runaway job, a failover, a backfill) that drags the fitted line
// towards it. Theil–Sen ignores up to ~29% of arbitrarily bad points without any
// tuning constant or iteration, is exact and deterministic on a few dozen points
// (n(n−1)/2 pairs is nothing at 28 days), and comes with a distribution-free
// confidence interval for the slope (Sen 1968): with Kendall's S variance
// n(n−1)(2n+5)/18, the interval runs between the ranks (N − C)/2 and (N + C)/2 + 1
// of the N sorted pairwise slopes, C = z·√Var(S). The normal quantile comes from
// gonum. ok is false below two distinct x values.
func theilSen(x, y []float64, confidence float64) (trend, bool) {
	n := len(x)
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := range n {
		for j := i + 1; j < n; j++ {
			if dx := x[j] - x[i]; dx != 0 {
				slopes = append(slopes, (y[j]-y[i])/dx)
			}
		}
	}
	if len(slopes) == 0 {
		return trend{}, false
	}
	slices.Sort(slopes)
	t := trend{n: n, slope: median(slopes)}
	t.intercept = interceptFor(x, y, t.slope)

	nf := float64(n)
	z := distuv.UnitNormal.Quantile(0.5 + confidence/2)
	c := z * math.Sqrt(nf*(nf-1)*(2*nf+5)/18)
	total := float64(len(slopes))
	t.slopeLow = rank(slopes, (total-c)/2)
	t.slopeHigh = rank(slopes, (total+c)/2+1)
	t.interceptLow = interceptFor(x, y, t.slopeLow)
	t.interceptHigh = interceptFor(x, y, t.slopeHigh)
	return t, true
}

func interceptFor(x, y []float64, slope float64) float64 {
	r := make([]float64, len(x))
	for i := range x {
		r[i] = y[i] - slope*x[i]
	}
	slices.Sort(r)
	return median(r)
}

// median of sorted values (the mean of the middle two for an even count).
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// rank returns the value at 1-based rank r of sorted values, interpolating
// between neighbours and clamping to the ends.
func rank(sorted []float64, r float64) float64 {
	i := r - 1
	if i <= 0 {
		return sorted[0]
	}
	last := float64(len(sorted) - 1)
	if i >= last {
		return sorted[len(sorted)-1]
	}
	lo := math.Floor(i)
	f := i - lo
	return sorted[int(lo)]*(1-f) + sorted[int(lo)+1]*f
}
