package clustering

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
)

// blobs returns n points around each of the given centres (one per group, in
// Feature's 10 dimensions), with noise of the given standard deviation, and each
// point's true group.
func blobs(rng *rand.Rand, centres [][]float64, n int, noise float64) (*mat.Dense, []int) {
	d := len(centres[0])
	x := mat.NewDense(n*len(centres), d, nil)
	truth := make([]int, 0, n*len(centres))
	for g, c := range centres {
		for i := range n {
			row := x.RawRowView(g*n + i)
			for j := range d {
				row[j] = c[j] + rng.NormFloat64()*noise
			}
			truth = append(truth, g)
		}
	}
	return x, truth
}

// profiles are four machine behaviours in Feature order (fractions, bytes/s,
// containers): a compute node, a storage node, an idle node, a network gateway.
var profiles = [][]float64{
	{0.80, 0.95, 0.50, 0.60, 0.10, 0.20, 2e8, 4e8, 20, 28}, // CPU-heavy
	{0.20, 0.30, 0.40, 0.50, 0.70, 0.90, 3e8, 6e8, 4, 6},   // IO-heavy
	{0.05, 0.10, 0.15, 0.20, 0.02, 0.05, 1e7, 3e7, 1, 2},   // idle
	{0.30, 0.45, 0.30, 0.40, 0.10, 0.20, 2e9, 3e9, 6, 9},   // network-heavy
}

// scaled multiplies each column's noise by its typical size, so every feature
// is noisy in its own units.
func scaledBlobs(rng *rand.Rand, n int, rel float64) (*mat.Dense, []int) {
	x, truth := blobs(rng, profiles, n, 0)
	r, d := x.Dims()
	for i := range r {
		row := x.RawRowView(i)
		for j := range d {
			row[j] *= 1 + rng.NormFloat64()*rel
		}
	}
	return x, truth
}

func TestAnalyzeFindsTheProfiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, truth := scaledBlobs(rng, 500, 0.08)
	res, err := Analyze(x, Options{Seed: 7}, nil)
	require.NoError(t, err)
	require.Equal(t, 4, res.K, "silhouettes %v", res.Silhouettes)
	require.GreaterOrEqual(t, AdjustedRand(truth, res.Labels), 0.95)
	require.Greater(t, res.Quality, 0.5)
	require.Len(t, res.Groups, 4)
	total := 0
	for _, g := range res.Groups {
		total += g.Hosts
		require.Len(t, g.Centroid, len(Feature))
	}
	require.Equal(t, 2000, total)
	// Each profile's group is described by what sets it apart.
	words := map[string]bool{}
	for _, g := range res.Groups {
		words[g.Description] = true
	}
	var descs []string
	for w := range words {
		descs = append(descs, w)
	}
	require.Condition(t, func() bool {
		return slices.ContainsFunc(descs, func(s string) bool { return contains(s, "CPU-heavy") }) &&
			slices.ContainsFunc(descs, func(s string) bool { return contains(s, "IO-heavy") }) &&
			slices.ContainsFunc(descs, func(s string) bool { return contains(s, "network-heavy") })
	}, "descriptions %v", descs)
	for i := range res.X {
		require.False(t, math.IsNaN(res.X[i]) || math.IsNaN(res.Y[i]))
	}
	require.Greater(t, res.Explained[0]+res.Explained[1], 0.5)
}

func contains(s, sub string) bool {
	return len(s) >= len(sub) && (s == sub || slices.Contains(splitWords(s), sub))
}

func splitWords(s string) []string {
	var out []string
	start := 0
	for i := 0; i+1 < len(s); i++ {
		if s[i] == ',' && s[i+1] == ' ' {
			out = append(out, s[start:i])
			start = i + 2
		}
	}
	return append(out, s[start:])
}

func TestAnalyzeIsDeterministicAndLabelsStayStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x, _ := scaledBlobs(rng, 300, 0.08)
	a, err := Analyze(x, Options{Seed: 11}, nil)
	require.NoError(t, err)
	b, err := Analyze(x, Options{Seed: 11}, nil)
	require.NoError(t, err)
	require.Equal(t, a.Labels, b.Labels)
	require.Equal(t, a.X, b.X)

	// A later run over new measurements of the same machines, with another
	// seed (so k-means finds the groups in another order), keeps each group's
	// label when matched against the first run.
	rng2 := rand.New(rand.NewPCG(5, 6))
	x2, _ := scaledBlobs(rng2, 300, 0.08)
	c, err := Analyze(x2, Options{Seed: 99}, a.Centers())
	require.NoError(t, err)
	same := 0
	for i := range a.Labels {
		if a.Labels[i] == c.Labels[i] {
			same++
		}
	}
	require.GreaterOrEqual(t, float64(same)/float64(len(a.Labels)), 0.97)
}

func TestMatchAddsLabelsForNewGroups(t *testing.T) {
	old := mat.NewDense(2, 2, []float64{0, 0, 10, 10})
	now := mat.NewDense(3, 2, []float64{10.2, 9.9, 50, 50, 0.1, -0.1})
	require.Equal(t, []int{7, 8, 3}, Match(old, now, []int{3, 7}))
	// Fewer groups than before: each keeps its nearest old label.
	require.Equal(t, []int{7}, Match(old, mat.NewDense(1, 2, []float64{9, 9}), []int{3, 7}))
}

func TestHungarianMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for range 50 {
		n := 1 + rng.IntN(6)
		cost := make([][]float64, n)
		for i := range cost {
			cost[i] = make([]float64, n)
			for j := range cost[i] {
				cost[i][j] = math.Round(rng.Float64() * 100)
			}
		}
		got := hungarian(cost)
		total := func(p []int) float64 {
			s := 0.0
			for i, j := range p {
				s += cost[i][j]
			}
			return s
		}
		best := math.Inf(1)
		permute(make([]int, 0, n), make([]bool, n), func(p []int) { best = min(best, total(p)) })
		require.Equal(t, best, total(got), "cost %v assignment %v", cost, got)
	}
}

func permute(p []int, used []bool, visit func([]int)) {
	if len(p) == len(used) {
		visit(p)
		return
	}
	for j := range used {
		if !used[j] {
			used[j] = true
			permute(append(p, j), used, visit)
			used[j] = false
		}
	}
}

func TestAdjustedRand(t *testing.T) {
	require.InDelta(t, 1, AdjustedRand([]int{0, 0, 1, 1, 2, 2}, []int{5, 5, 3, 3, 9, 9}), 1e-12)
	require.Less(t, AdjustedRand([]int{0, 0, 0, 1, 1, 1}, []int{0, 1, 0, 1, 0, 1}), 0.0)
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := make([]int, 5000), make([]int, 5000)
	for i := range a {
		a[i], b[i] = rng.IntN(4), rng.IntN(4)
	}
	require.InDelta(t, 0, AdjustedRand(a, b), 0.02)
}

func TestOutliersAreTheFarPoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	x, _ := scaledBlobs(rng, 400, 0.05)
	// Two machines unlike any profile.
	n, d := x.Dims()
	grown := mat.NewDense(n+2, d, nil)
	grown.Slice(0, n, 0, d).(*mat.Dense).Copy(x)
	grown.SetRow(n, []float64{0.99, 1, 0.99, 1, 0.99, 1, 9e9, 9.5e9, 60, 80})
	grown.SetRow(n+1, []float64{0.5, 0.99, 0.05, 0.99, 0.5, 0.99, 5e8, 5e9, 0, 40})
	res, err := Analyze(grown, Options{Seed: 1}, nil)
	require.NoError(t, err)
	require.True(t, res.Outlier[n], "distance %v", res.Distances[n])
	require.True(t, res.Outlier[n+1], "distance %v", res.Distances[n+1])
	flagged := 0
	for _, o := range res.Outlier[:n] {
		if o {
			flagged++
		}
	}
	require.Less(t, flagged, n/50, "ordinary hosts flagged as outliers")
}

func TestAnalyzeBadInput(t *testing.T) {
	_, err := Analyze(mat.NewDense(1, 10, nil), Options{}, nil)
	require.ErrorIs(t, err, ErrTooFew)
	x := mat.NewDense(10, 10, nil)
	x.Set(3, 4, math.NaN())
	_, err = Analyze(x, Options{}, nil)
	require.ErrorContains(t, err, "row 3")
	// Constant features (every host the same) give one place for everyone,
	// never NaN.
	res, err := Analyze(mat.NewDense(50, 10, nil), Options{}, nil)
	require.NoError(t, err)
	for i := range res.X {
		require.False(t, math.IsNaN(res.X[i]) || math.IsNaN(res.Distances[i]))
	}
}

func TestDescribe(t *testing.T) {
	require.Equal(t, "typical load", Describe(make([]float64, 10)))
	require.Equal(t, "CPU-heavy, low IO", Describe([]float64{3, 3, 0, 0, -1.5, -1.5, 0.5, 0.5, 0, 0}))
	require.Equal(t, "network-heavy, container-dense, memory-heavy",
		Describe([]float64{0, 0, 1.1, 1.1, 0, 0, 5, 5, 2, 2}))
}

// BenchmarkAnalyze200k clusters 200,000 hosts × 10 features, choice of k
// included (the target: under 5 s), and reports the time per Lloyd iteration
// of the final fit.
func BenchmarkAnalyze200k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, truth := scaledBlobs(rng, 50000, 0.1)
	var res *Result
	for b.Loop() {
		var err error
		res, err = Analyze(x, Options{Seed: 1}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.K), "k")
	b.ReportMetric(AdjustedRand(truth, res.Labels), "ARI")
	// One Lloyd iteration alone, on the whole matrix at the chosen k.
	z := res.Scale.Apply(x)
	c := res.Scale.Apply(res.Centers().Centroids)
	labels, dist := make([]int, len(truth)), make([]float64, len(truth))
	began := time.Now()
	const iters = 10
	for range iters {
		assign(z, c, labels, dist)
	}
	b.ReportMetric(float64(time.Since(began).Microseconds())/1000/iters, "ms/assign")
}
