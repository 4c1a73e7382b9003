package clustering

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// Feature names the columns of the feature matrix, in order: the mean and the
// 95th percentile over the window of each behaviour the issue of grouping
// machines is about (MISSION: network, CPU, IO, memory, containers).
var Feature = []string{
	"cpu_mean", "cpu_p95",
	"mem_mean", "mem_p95",
	"io_mean", "io_p95",
	"net_in_mean", "net_in_p95",
	"containers_mean", "containers_p95",
}

// metricWords are the words a description uses for each metric (a pair of
// columns in Feature): the heavy form and the light form.
var metricWords = []struct{ heavy, light string }{
	{"CPU-heavy", "low CPU"},
	{"memory-heavy", "low memory"},
	{"IO-heavy", "low IO"},
	{"network-heavy", "low network"},
	{"container-dense", "few containers"},
}

// Scale is a robust standardisation: each column centred on its median and
// divided by its MAD (× 1.4826, the standard deviation for normal data), so a
// few extreme hosts do not squash everyone else together. A column whose MAD is
// 0 (most hosts equal) falls back to its standard deviation, and a constant
// column to 1.
type Scale struct {
	Center, Spread []float64
}

// RobustScale computes the Scale of the columns of x.
func RobustScale(x *mat.Dense) Scale {
	n, d := x.Dims()
	s := Scale{Center: make([]float64, d), Spread: make([]float64, d)}
	col := make([]float64, n)
	for j := range d {
		mat.Col(col, j, x)
		std := stat.StdDev(col, nil)
		med, mad := medianMAD(col)
		s.Center[j] = med
		switch {
		case mad > 0:
			s.Spread[j] = 1.4826 * mad
		case std > 0 && !math.IsNaN(std):
			s.Spread[j] = std
		default:
			s.Spread[j] = 1
		}
	}
	return s
}

// Apply returns x standardised by s.
func (s Scale) Apply(x *mat.Dense) *mat.Dense {
	n, d := x.Dims()
	out := mat.NewDense(n, d, nil)
	for i := range n {
		src, dst := x.RawRowView(i), out.RawRowView(i)
		for j := range d {
			dst[j] = (src[j] - s.Center[j]) / s.Spread[j]
		}
	}
	return out
}

// Project returns the first two principal components of the rows of z (already
// standardised): the directions of greatest variance, from the eigenvectors of
// the 10×10 covariance matrix (cheaper than an SVD of the 200,000-row matrix),
// each signed so its largest loading is positive, which keeps the picture from
// flipping between runs.
func Project(z *mat.Dense) (xs, ys []float64, explained [2]float64, err error) {
	n, d := z.Dims()
	if n < 2 {
		return make([]float64, n), make([]float64, n), explained, nil
	}
	var cov mat.SymDense
	stat.CovarianceMatrix(&cov, z, nil)
	var eig mat.EigenSym
	if !eig.Factorize(&cov, true) {
		return nil, nil, explained, fmt.Errorf("principal components: eigen decomposition failed")
	}
	values := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	// Eigenvalues come in ascending order: the last two are the components.
	order := []int{d - 1, d - 2}
	total := 0.0
	for _, v := range values {
		total += max(v, 0)
	}
	comps := make([][]float64, 2)
	for c, idx := range order {
		v := mat.Col(nil, idx, &vecs)
		big := 0
		for j := range v {
			if math.Abs(v[j]) > math.Abs(v[big]) {
				big = j
			}
		}
		if v[big] < 0 {
			for j := range v {
				v[j] = -v[j]
			}
		}
		comps[c] = v
		if total > 0 {
			explained[c] = max(values[idx], 0) / total
		}
	}
	xs, ys = make([]float64, n), make([]float64, n)
	for i := range n {
		row := z.RawRowView(i)
		for j := range d {
			xs[i] += row[j] * comps[0][j]
			ys[i] += row[j] * comps[1][j]
		}
	}
	return xs, ys, explained, nil
}

// Group is one group of a clustering.
type Group struct {
	// Label is the group's stable name (a small integer kept from run to run).
	Label int
	// Centroid is the mean of the group's hosts in each Feature, in the
	// features' own units (fractions 0..1, bytes per second, containers).
	Centroid []float64
	// Z is the centroid in robust standard deviations from the fleet's median.
	Z []float64
	// Description says in words what sets the group apart.
	Description string
	// Hosts counts the group's hosts.
	Hosts int
}

// Result is a whole clustering of a set of points.
type Result struct {
	// K is the number of groups and Silhouettes each candidate k's silhouette.
	K           int
	Silhouettes map[int]float64
	// Quality is the silhouette of the kept k.
	Quality float64
	Groups  []Group
	// Labels, Distances, Outlier, X and Y are per point, in input order: its
	// group's label, its distance to the group's centroid (standardised), whether
	// it is an outlier, and its place in the 2-D projection.
	Labels    []int
	Distances []float64
	Outlier   []bool
	X, Y      []float64
	// Explained is the share of the variance the two projected axes carry.
	Explained [2]float64
	// Iterations is the final fit's Lloyd iterations.
	Iterations int
	// Scale is the standardisation used.
	Scale Scale
}

// Previous is what a new run keeps labels stable against: the last run's
// centroids, in the features' own units (each run standardises with its own
// Scale, so the old centroids are standardised again with the new one before
// matching), and their labels.
type Previous struct {
	Centroids *mat.Dense
	Labels    []int
}

// Analyze clusters the rows of x (one per host, columns as Feature): robust
// standardisation, the choice of k on a sample, the final fit with restarts on
// every row, labels matched to prev, descriptions, outliers and the projection.
func Analyze(x *mat.Dense, o Options, prev *Previous) (*Result, error) {
	o = o.withDefaults()
	n, d := x.Dims()
	if n < o.KMin {
		return nil, fmt.Errorf("%w: %d hosts, at least %d needed", ErrTooFew, n, o.KMin)
	}
	for i := range n {
		for _, v := range x.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("feature row %d holds %v: callers must fill or drop missing features", i, v)
			}
		}
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x636c7573746572)) // "cluster"
	scale := RobustScale(x)
	z := scale.Apply(x)
	choice, err := ChooseK(z, o, rng)
	if err != nil {
		return nil, err
	}
	fit, err := KMeans(z, choice.K, o.Restarts, o.MaxIter, rng)
	if err != nil {
		return nil, err
	}
	var labelOf []int
	if prev != nil && prev.Centroids != nil {
		if _, pd := prev.Centroids.Dims(); pd == d {
			labelOf = Match(scale.Apply(prev.Centroids), fit.Centroids, prev.Labels)
		}
	}
	if labelOf == nil {
		labelOf = Match(nil, fit.Centroids, nil)
	}
	res := &Result{K: choice.K, Silhouettes: choice.Silhouettes, Quality: choice.Silhouettes[choice.K],
		Iterations: fit.Iterations, Scale: scale, Distances: fit.Distances,
		Outlier: Outliers(fit.Labels, slices.Clone(fit.Distances), choice.K, o.OutlierZ)}
	res.Labels = make([]int, n)
	sums := mat.NewDense(choice.K, d, nil)
	counts := make([]int, choice.K)
	for i, g := range fit.Labels {
		res.Labels[i] = labelOf[g]
		row := sums.RawRowView(g)
		for j, v := range x.RawRowView(i) {
			row[j] += v
		}
		counts[g]++
	}
	for g := range choice.K {
		centroid := slices.Clone(sums.RawRowView(g))
		for j := range centroid {
			centroid[j] /= float64(max(counts[g], 1))
		}
		zc := slices.Clone(fit.Centroids.RawRowView(g))
		res.Groups = append(res.Groups, Group{Label: labelOf[g], Centroid: centroid, Z: zc,
			Description: Describe(zc), Hosts: counts[g]})
	}
	slices.SortFunc(res.Groups, func(a, b Group) int { return a.Label - b.Label })
	res.X, res.Y, res.Explained, err = Project(z)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Centers returns the groups' centroids (in the features' units) and labels,
// what the next run matches against.
func (r *Result) Centers() *Previous {
	if len(r.Groups) == 0 {
		return nil
	}
	c := mat.NewDense(len(r.Groups), len(r.Groups[0].Centroid), nil)
	labels := make([]int, len(r.Groups))
	for i, g := range r.Groups {
		c.SetRow(i, g.Centroid)
		labels[i] = g.Label
	}
	return &Previous{Centroids: c, Labels: labels}
}

// Describe words a standardised centroid: each metric whose mean and p95 lie
// on average at least one robust standard deviation from the fleet's median is
// named, the farthest first, at most three ("CPU-heavy, low IO"); a centroid near
// the median everywhere is "typical load".
func Describe(z []float64) string {
	type term struct {
		word string
		dev  float64
	}
	var terms []term
	for m, w := range metricWords {
		if 2*m+1 >= len(z) {
			break
		}
		dev := (z[2*m] + z[2*m+1]) / 2
		switch {
		case dev >= 1:
			terms = append(terms, term{w.heavy, dev})
		case dev <= -1:
			terms = append(terms, term{w.light, -dev})
		}
	}
	if len(terms) == 0 {
		return "typical load"
	}
	slices.SortStableFunc(terms, func(a, b term) int {
		switch {
		case a.dev > b.dev:
			return -1
		case a.dev < b.dev:
			return 1
		}
		return 0
	})
	words := make([]string, 0, 3)
	for _, t := range terms[:min(3, len(terms))] {
		words = append(words, t.word)
	}
	return strings.Join(words, ", ")
}
