package clustering

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"
)

// alibabaUsage returns the real Alibaba v2018 machine_usage sample beside the
// repository (../shared/data), skipping when it is absent.
func alibabaUsage(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(mod), "module github.com/teslaops/tesla\n") {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found above the test directory: skipping the real-data test")
		}
		dir = parent
	}
	path := filepath.Join(filepath.Dir(dir), "shared", "data", "alibaba", "v2018", "machine_usage_sample.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real Alibaba v2018 machine_usage sample not available (%v): skipping; it lives in ../shared/data next to the repository", err)
	}
	return path
}

// TestAlibabaMachineDays clusters the real Alibaba sample (8 machines over 8
// days) by machine-day: each day of each machine is a point with the features
// the server uses (hourly means, then the day's mean and p95 of CPU, memory,
// disk IO and network in; the trace has no container count). Machines that do
// the same work every day should see their days land in one group; the test
// reports what it finds (docs/anomaly.md quotes it) and checks the groups are
// real: well separated, and each machine's days mostly in one group.
func TestAlibabaMachineDays(t *testing.T) {
	f, err := os.Open(alibabaUsage(t))
	require.NoError(t, err)
	defer f.Close()
	type key struct {
		machine string
		day, hr int
	}
	type acc struct {
		sum [4]float64
		n   [4]int
	}
	hours := map[key]*acc{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		cols := strings.Split(sc.Text(), ",")
		require.Len(t, cols, 9, "line %d", line)
		ts, err := strconv.ParseFloat(cols[1], 64)
		require.NoError(t, err, "line %d", line)
		k := key{cols[0], int(ts) / 86400, int(ts) % 86400 / 3600}
		a := hours[k]
		if a == nil {
			a = &acc{}
			hours[k] = a
		}
		// cpu, mem, disk_io, net_in: all percentages of the machine's own.
		for i, c := range []int{2, 3, 8, 6} {
			if v, err := strconv.ParseFloat(cols[c], 64); err == nil {
				a.sum[i] += v / 100
				a.n[i]++
			}
		}
	}
	require.NoError(t, sc.Err())
	type dayKey struct {
		machine string
		day     int
	}
	perDay := map[dayKey][4][]float64{}
	for k, a := range hours {
		dk := dayKey{k.machine, k.day}
		d := perDay[dk]
		for i := range 4 {
			if a.n[i] > 0 {
				d[i] = append(d[i], a.sum[i]/float64(a.n[i]))
			}
		}
		perDay[dk] = d
	}
	var keys []dayKey
	for dk, d := range perDay {
		if len(d[0]) >= 12 { // at least half a day of hours
			keys = append(keys, dk)
		}
	}
	slices.SortFunc(keys, func(a, b dayKey) int {
		if c := strings.Compare(a.machine, b.machine); c != 0 {
			return c
		}
		return a.day - b.day
	})
	x := mat.NewDense(len(keys), len(Feature), nil)
	for i, dk := range keys {
		d := perDay[dk]
		row := x.RawRowView(i)
		for m := range 4 {
			vs := slices.Clone(d[m])
			if len(vs) == 0 {
				continue
			}
			sum := 0.0
			for _, v := range vs {
				sum += v
			}
			slices.Sort(vs)
			row[2*m], row[2*m+1] = sum/float64(len(vs)), quantileSorted(vs, 0.95)
		}
	}
	res, err := Analyze(x, Options{Seed: 1, KMax: 6}, nil)
	require.NoError(t, err)
	var b strings.Builder
	fmt.Fprintf(&b, "%d machine-days, k=%d, silhouette %.2f (candidates %v)\n", len(keys), res.K, res.Quality, res.Silhouettes)
	for _, g := range res.Groups {
		fmt.Fprintf(&b, "group %d (%d): %s; CPU %.0f%%/%.0f%%, memory %.0f%%/%.0f%%, IO %.0f%%/%.0f%%, net in %.0f%%/%.0f%%\n",
			g.Label, g.Hosts, g.Description, 100*g.Centroid[0], 100*g.Centroid[1], 100*g.Centroid[2], 100*g.Centroid[3],
			100*g.Centroid[4], 100*g.Centroid[5], 100*g.Centroid[6], 100*g.Centroid[7])
	}
	byMachine := map[string]map[int]int{}
	for i, dk := range keys {
		if byMachine[dk.machine] == nil {
			byMachine[dk.machine] = map[int]int{}
		}
		byMachine[dk.machine][res.Labels[i]]++
	}
	pure := 0
	var machines []string
	for m := range byMachine {
		machines = append(machines, m)
	}
	slices.Sort(machines)
	for _, m := range machines {
		best := 0
		for _, n := range byMachine[m] {
			best = max(best, n)
		}
		pure += best
		fmt.Fprintf(&b, "%s: days per group %v\n", m, byMachine[m])
	}
	t.Log("\n" + b.String())
	require.Greater(t, res.Quality, 0.25)
	require.GreaterOrEqual(t, float64(pure)/float64(len(keys)), 0.75, "a machine's days should mostly share a group")
}
