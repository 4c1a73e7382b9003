package sim

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/mat"

	"github.com/teslaops/tesla/internal/clustering"
)

// TestProfilesClusterOnTheDefaultFleet is TestClusteringFindsTheProfiles on
// the default fleet (3,000 hosts) without the database: the clustering's
// features are computed from the load model the way LoadFeatures computes them
// from host_metric_1h (hourly means of the seed's 5-minute samples over the
// last 24 complete hours; the p95 of the hours interpolated as percentile_cont
// does), then clustered by clustering.Analyze as the job does.
func TestProfilesClusterOnTheDefaultFleet(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{{Clusters: 6, Hosts: 400, Now: testNow}, {Now: testNow}} {
		f := planFleet(cfg.withDefaults())
		end := f.now.Truncate(time.Hour).Unix()
		var data []float64
		var truth []int
		for i := range f.hosts {
			h := &f.hosts[i]
			if h.state != stateOnline {
				continue
			}
			var hm [5][24]float64
			for k := range 24 {
				hs := end - int64(24-k)*3600
				var s [5]float64
				for ts := hs; ts < hs+3600; ts += 300 {
					x := h.load.at(ts, modeNormal)
					s[0] += float64(x.cpu) / 100
					s[1] += float64(x.mem) / 100
					s[2] += float64(x.io) / 100
					s[3] += x.netIn / float64(h.nicBps)
					s[4] += float64(x.containers)
				}
				for m := range 5 {
					hm[m][k] = s[m] / 12
				}
			}
			for m := range 5 {
				var sum float64
				for _, v := range hm[m] {
					sum += v
				}
				v := slices.Clone(hm[m][:])
				slices.Sort(v)
				pos := 0.95 * 23
				lo := int(pos)
				p95 := v[lo] + (v[lo+1]-v[lo])*(pos-float64(lo))
				data = append(data, sum/24, p95)
			}
			truth = append(truth, int(h.load.prof))
		}
		x := mat.NewDense(len(truth), 10, data)
		res, err := clustering.Analyze(x, clustering.Options{Seed: uint64(end)}, nil)
		require.NoError(t, err)
		ari := clustering.AdjustedRand(truth, res.Labels)
		t.Logf("%d ONLINE hosts: k=%d, silhouette %.3f, ARI %.3f; silhouettes by k %v", len(truth), res.K, res.Quality, ari, res.Silhouettes)
		require.GreaterOrEqual(t, ari, 0.9, "%d hosts", len(truth))
	}
}
