// Package clustering groups hosts by how they behave: the mean and the 95th
// percentile of their CPU, memory, disk IO, network and container load over a
// window, robustly standardised, grouped with k-means++ (k chosen by the
// silhouette of a sample), labelled stably from run to run, described in words,
// projected to two dimensions for the distribution chart, with the hosts far from
// every group reported as outliers.
//
// The numerics here are pure functions over gonum matrices (gonum has no
// k-means); the Service around them reads features, stores runs and answers the
// API.
package clustering

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Options tune a clustering. The zero value is the default for every field.
type Options struct {
	// KMin and KMax bound the k the silhouette chooses from (default 2 and 10).
	// Equal, they fix k.
	KMin, KMax int
	// Restarts is how many k-means++ starts the final fit keeps the best of
	// (lowest inertia; default 4).
	Restarts int
	// MaxIter bounds the Lloyd iterations of one start (default 50); a start
	// also stops when no point changes group.
	MaxIter int
	// FitSample is how many points the choice of k fits each candidate k on
	// (default 20,000), and SilhouetteSample how many of those the silhouette is
	// measured on (default 2,000; the silhouette is quadratic in it).
	FitSample, SilhouetteSample int
	// OutlierZ is how far, in robust standard deviations of its group's
	// distances, a point must lie from its centroid to be an outlier (default 4).
	OutlierZ float64
	// Seed makes a run deterministic: the same data and seed give the same groups.
	Seed uint64
}

func (o Options) withDefaults() Options {
	if o.KMin <= 0 {
		o.KMin = 2
	}
	if o.KMax <= 0 {
		o.KMax = 10
	}
	if o.KMax < o.KMin {
		o.KMax = o.KMin
	}
	if o.Restarts <= 0 {
		o.Restarts = 4
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 50
	}
	if o.FitSample <= 0 {
		o.FitSample = 20000
	}
	if o.SilhouetteSample <= 0 {
		o.SilhouetteSample = 2000
	}
	if o.OutlierZ <= 0 {
		o.OutlierZ = 4
	}
	return o
}

// ErrTooFew is returned when there are fewer points than groups to make.
var ErrTooFew = errors.New("too few hosts to cluster")

// Fit is the result of one k-means fit.
type Fit struct {
	// Centroids holds one row per group, in the standardised feature space.
	Centroids *mat.Dense
	// Labels gives each point's group (a row of Centroids).
	Labels []int
	// Distances gives each point's Euclidean distance to its centroid.
	Distances []float64
	// Inertia is the sum of squared distances, what k-means minimises.
	Inertia float64
	// Iterations is how many Lloyd iterations the kept start ran.
	Iterations int
}

// KMeans fits k groups to the rows of x: k-means++ seeding, then Lloyd
// iterations until no point moves or maxIter, restarts times from different
// seeds drawn from rng, keeping the fit of lowest inertia. Assignment, the
// costly step, runs on every core.
func KMeans(x *mat.Dense, k, restarts, maxIter int, rng *rand.Rand) (*Fit, error) {
	n, _ := x.Dims()
	if k < 1 || n < k {
		return nil, ErrTooFew
	}
	var best *Fit
	for range max(restarts, 1) {
		f := lloyd(x, seedPlusPlus(x, k, rng), maxIter)
		if best == nil || f.Inertia < best.Inertia {
			best = f
		}
	}
	return best, nil
}

// seedPlusPlus picks k initial centroids by k-means++ (Arthur and Vassilvitskii,
// 2007): the first uniformly, each next with probability proportional to the
// squared distance to the nearest centroid chosen so far, which spreads the
// starts and makes Lloyd's result within O(log k) of the optimum in expectation.
func seedPlusPlus(x *mat.Dense, k int, rng *rand.Rand) *mat.Dense {
	n, d := x.Dims()
	c := mat.NewDense(k, d, nil)
	c.SetRow(0, x.RawRowView(rng.IntN(n)))
	nearest := make([]float64, n)
	for i := range n {
		nearest[i] = sqDist(x.RawRowView(i), c.RawRowView(0))
	}
	for j := 1; j < k; j++ {
		total := floats.Sum(nearest)
		pick := rng.IntN(n)
		if total > 0 {
			r := rng.Float64() * total
			for i, w := range nearest {
				if r -= w; r <= 0 {
					pick = i
					break
				}
			}
		}
		c.SetRow(j, x.RawRowView(pick))
		cj := c.RawRowView(j)
		for i := range n {
			nearest[i] = min(nearest[i], sqDist(x.RawRowView(i), cj))
		}
	}
	return c
}

// lloyd improves centroids c until no point changes group or maxIter.
func lloyd(x, c *mat.Dense, maxIter int) *Fit {
	n, d := x.Dims()
	k, _ := c.Dims()
	labels := make([]int, n)
	for i := range labels {
		labels[i] = -1
	}
	dist := make([]float64, n)
	iter := 0
	for iter < maxIter {
		iter++
		if moved := assign(x, c, labels, dist); moved == 0 {
			break
		}
		// Move each centroid to the mean of its points; an emptied group takes
		// the point farthest from its own centroid, so k groups survive.
		sums := mat.NewDense(k, d, nil)
		counts := make([]int, k)
		for i := range n {
			floats.Add(sums.RawRowView(labels[i]), x.RawRowView(i))
			counts[labels[i]]++
		}
		for j := range k {
			if counts[j] == 0 {
				far := floats.MaxIdx(dist)
				c.SetRow(j, x.RawRowView(far))
				dist[far] = 0
				continue
			}
			row := c.RawRowView(j)
			copy(row, sums.RawRowView(j))
			floats.Scale(1/float64(counts[j]), row)
		}
	}
	assign(x, c, labels, dist)
	inertia := 0.0
	for _, v := range dist {
		inertia += v * v
	}
	return &Fit{Centroids: c, Labels: labels, Distances: dist, Inertia: inertia, Iterations: iter}
}

// assign sets each point's nearest centroid and its distance, in parallel
// chunks, and returns how many points changed group.
func assign(x, c *mat.Dense, labels []int, dist []float64) int {
	n, _ := x.Dims()
	k, _ := c.Dims()
	workers := min(runtime.GOMAXPROCS(0), max(1, n/4096))
	chunk := (n + workers - 1) / workers
	moved := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*chunk, min(n, (w+1)*chunk)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				row := x.RawRowView(i)
				best, bestD := 0, math.Inf(1)
				for j := range k {
					if dd := sqDist(row, c.RawRowView(j)); dd < bestD {
						best, bestD = j, dd
					}
				}
				if labels[i] != best {
					labels[i] = best
					moved[w]++
				}
				dist[i] = math.Sqrt(bestD)
			}
		})
	}
	wg.Wait()
	total := 0
	for _, m := range moved {
		total += m
	}
	return total
}

// sqDist is the squared Euclidean distance between a and b.
func sqDist(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		d := v - b[i]
		s += d * d
	}
	return s
}

// Silhouette is the mean silhouette of the rows of x grouped by labels
// (Rousseeuw, 1987): for each point, (b − a) / max(a, b), a its mean distance to
// its own group, b to the nearest other. 1 is perfectly separated groups, 0
// overlapping ones; points alone in their group count 0. Quadratic in the rows:
// callers pass a sample.
func Silhouette(x *mat.Dense, labels []int, k int) float64 {
	n, _ := x.Dims()
	if n < 2 || k < 2 {
		return 0
	}
	sizes := make([]int, k)
	for _, l := range labels {
		sizes[l]++
	}
	total := 0.0
	sums := make([]float64, k)
	for i := range n {
		clear(sums)
		ri := x.RawRowView(i)
		for j := range n {
			if j != i {
				sums[labels[j]] += math.Sqrt(sqDist(ri, x.RawRowView(j)))
			}
		}
		own := labels[i]
		if sizes[own] <= 1 {
			continue
		}
		a := sums[own] / float64(sizes[own]-1)
		b := math.Inf(1)
		for g := range k {
			if g != own && sizes[g] > 0 {
				b = min(b, sums[g]/float64(sizes[g]))
			}
		}
		if math.IsInf(b, 1) {
			continue
		}
		if m := max(a, b); m > 0 {
			total += (b - a) / m
		}
	}
	return total / float64(n)
}

// Choice is the outcome of choosing k: the k kept and each candidate's
// silhouette on the sample.
type Choice struct {
	K           int
	Silhouettes map[int]float64
}

// ChooseK fits every k in [o.KMin, o.KMax] on a sample of the rows of x and
// keeps the k of the highest silhouette, measured on a sub-sample. The
// silhouette rather than the gap statistic: it needs one fit per k where the gap
// needs one per k and reference set, it is bounded and reads directly as "how
// well separated" (reported as the run's quality), and on the hosts' features,
// whose groups are few and compact, it peaks where the groups are.
func ChooseK(x *mat.Dense, o Options, rng *rand.Rand) (Choice, error) {
	o = o.withDefaults()
	n, _ := x.Dims()
	if n < o.KMin {
		return Choice{}, ErrTooFew
	}
	fitX := sampleRows(x, o.FitSample, rng)
	fitN, _ := fitX.Dims()
	silN := min(o.SilhouetteSample, fitN)
	// The silhouette sample is the first silN rows of the shuffled fit sample.
	silX := fitX.Slice(0, silN, 0, x.RawMatrix().Cols).(*mat.Dense)
	ch := Choice{Silhouettes: map[int]float64{}}
	best := math.Inf(-1)
	for k := o.KMin; k <= min(o.KMax, fitN); k++ {
		f, err := KMeans(fitX, k, 2, o.MaxIter, rng)
		if err != nil {
			return Choice{}, err
		}
		s := Silhouette(silX, f.Labels[:silN], k)
		ch.Silhouettes[k] = s
		// A clearly better k wins; near-ties go to the smaller k, which
		// describes the fleet in fewer words.
		if s > best+0.01 {
			best, ch.K = s, k
		}
	}
	if ch.K == 0 {
		ch.K = o.KMin
	}
	return ch, nil
}

// sampleRows returns up to m rows of x in random order (all of them, shuffled,
// when x has no more).
func sampleRows(x *mat.Dense, m int, rng *rand.Rand) *mat.Dense {
	n, d := x.Dims()
	idx := rng.Perm(n)
	if m < n {
		idx = idx[:m]
	}
	out := mat.NewDense(len(idx), d, nil)
	for i, r := range idx {
		out.SetRow(i, x.RawRowView(r))
	}
	return out
}

// Match pairs new centroids with old ones so a group keeps its label from run to
// run: the assignment of least total distance (Hungarian method), new groups
// beyond the old ones taking labels after the highest old label. It returns the
// label of each new centroid.
func Match(old, new *mat.Dense, oldLabels []int) []int {
	kn, _ := new.Dims()
	labels := make([]int, kn)
	if old == nil {
		for i := range labels {
			labels[i] = i
		}
		return labels
	}
	ko, _ := old.Dims()
	size := max(kn, ko)
	cost := make([][]float64, size)
	for i := range size {
		cost[i] = make([]float64, size)
		for j := range size {
			if i < kn && j < ko {
				cost[i][j] = math.Sqrt(sqDist(new.RawRowView(i), old.RawRowView(j)))
			}
		}
	}
	pair := hungarian(cost)
	next := 0
	for _, l := range oldLabels {
		next = max(next, l+1)
	}
	for i := range kn {
		if j := pair[i]; j < ko {
			labels[i] = oldLabels[j]
		} else {
			labels[i] = next
			next++
		}
	}
	return labels
}

// hungarian solves the square assignment problem: it returns, for each row, the
// column it is assigned, minimising the total cost (the O(n³) potentials form).
func hungarian(cost [][]float64) []int {
	n := len(cost)
	u, v := make([]float64, n+1), make([]float64, n+1)
	p, way := make([]int, n+1), make([]int, n+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		minv := make([]float64, n+1)
		for j := range minv {
			minv[j] = math.Inf(1)
		}
		used := make([]bool, n+1)
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				if cur := cost[i0-1][j-1] - u[i0] - v[j]; cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	rowOf := make([]int, n)
	for j := 1; j <= n; j++ {
		if p[j] > 0 {
			rowOf[p[j]-1] = j - 1
		}
	}
	return rowOf
}

// AdjustedRand is the adjusted Rand index of two labellings of the same points
// (Hubert and Arabie, 1985): 1 for identical partitions whatever the label
// names, about 0 for independent ones.
func AdjustedRand(a, b []int) float64 {
	type pair struct{ a, b int }
	cells := map[pair]int{}
	rows, cols := map[int]int{}, map[int]int{}
	for i := range a {
		cells[pair{a[i], b[i]}]++
		rows[a[i]]++
		cols[b[i]]++
	}
	choose2 := func(n int) float64 { return float64(n) * float64(n-1) / 2 }
	var index, sa, sb float64
	for _, c := range cells {
		index += choose2(c)
	}
	for _, c := range rows {
		sa += choose2(c)
	}
	for _, c := range cols {
		sb += choose2(c)
	}
	expected := sa * sb / choose2(len(a))
	maxIndex := (sa + sb) / 2
	if maxIndex == expected {
		return 1
	}
	return (index - expected) / (maxIndex - expected)
}

// Outliers flags the points whose distance to their centroid is more than z
// robust standard deviations (median + z × 1.4826 × MAD of the group's
// distances) beyond their group's median distance.
func Outliers(labels []int, dist []float64, k int, z float64) []bool {
	byGroup := make([][]float64, k)
	for i, l := range labels {
		byGroup[l] = append(byGroup[l], dist[i])
	}
	limit := make([]float64, k)
	for g, ds := range byGroup {
		if len(ds) == 0 {
			continue
		}
		med, mad := medianMAD(ds)
		limit[g] = med + z*max(1.4826*mad, 1e-9)
	}
	out := make([]bool, len(labels))
	for i, l := range labels {
		out[i] = dist[i] > limit[l]
	}
	return out
}

// medianMAD returns the median of xs and the median absolute deviation from it
// (xs is reordered).
func medianMAD(xs []float64) (median, mad float64) {
	slices.Sort(xs)
	median = quantileSorted(xs, 0.5)
	dev := make([]float64, len(xs))
	for i, v := range xs {
		dev[i] = math.Abs(v - median)
	}
	slices.Sort(dev)
	return median, quantileSorted(dev, 0.5)
}

// quantileSorted is the q-quantile of sorted xs by linear interpolation.
func quantileSorted(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	pos := q * float64(len(xs)-1)
	lo := int(pos)
	if lo >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	frac := pos - float64(lo)
	return xs[lo]*(1-frac) + xs[lo+1]*frac
}
