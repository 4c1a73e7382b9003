package graph

import (
	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/clustering"
)

// The sizes reads over hosts' clustering assignments are priced at
// (docs/scaling.md): the fleet, its largest cluster, a rack.
const (
	nominalFleetHosts     = 250000
	nominalLargestCluster = 20000
	nominalRackHosts      = 100
)

// setIntelligenceComplexity prices the intelligence schema's fields.
func setIntelligenceComplexity(c *generated.ComplexityRoot) {
	// The whole fleet reads the run's own counts and its sample index; a
	// filter reads the assignments of the hosts it may keep (see
	// clustering.Filter.Scan), once for the counts and once per list.
	scan := func(f *model.MachineClusteringFilter) int {
		cf, err := clusteringFilter(f)
		if err != nil {
			return 1 // refused before it reads anything
		}
		return int(ceilDiv(int64(cf.Scan(nominalFleetHosts, nominalLargestCluster, nominalRackHosts)), rowsPerUnit))
	}
	points := func(child, n int) int {
		n = min(max(n, 0), clustering.MaxPoints)
		return 1 + int(ceilDiv(int64(n), rowsPerUnit)) + child*n
	}
	c.Query.MachineClustering = func(child int, f *model.MachineClusteringFilter) int {
		// Filtered, each list below scans too: priced here, where the filter is.
		return 1 + 3*scan(f) + child
	}
	c.MachineClustering.Points = func(child int, limit *int) int { return points(child, orDefault(limit, 2000)) }
	c.MachineClustering.Outliers = func(child int, first *int) int { return points(child, orDefault(first, 50)) }
	// Parallel lists of scalars: the rows read, and one unit per 100 values.
	c.MachineClustering.Chart = func(child int, limit *int) int {
		n := min(max(orDefault(limit, 2000), 0), clustering.MaxPoints)
		return 1 + 2*int(ceilDiv(int64(n), rowsPerUnit)) + child
	}
	// A run keeps at most Options.KMax groups (10 by default; priced at twice
	// that) and as many candidates.
	c.MachineClustering.Groups = func(child int) int { return 1 + child*nominalPerParent }
	c.MachineClustering.Candidates = func(child int) int { return 1 + child*nominalPerParent }
	c.Mutation.RunClusteringAnalysis = func(child int) int { return 1 + child }

	c.Query.Anomalies = func(child int, _ *model.AnomalyFilter, first *int, _ *string) int {
		return 1 + child*pageCost(first, nil)
	}
	// A host has at most one unresolved episode per metric and kind.
	c.Host.Anomalies = func(child int) int { return 1 + child*2*len(model.AllAnomalyMetric) }
	// The analysis reads up to 5,000 episodes; its lists are a cluster's
	// metrics and onsets (priced at 20 each, as other short lists).
	c.Cluster.AnomalyAnalysis = func(child int, _ *model.Duration) int { return 1 + 50 + child }
	c.ClusterAnomalyAnalysis.Onsets = func(child int) int { return 1 + child*nominalPerParent }
	c.AnomalyOnset.Hosts = func(child int) int { return 1 + child*nominalPerParent }
}
