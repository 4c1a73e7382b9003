package graph

import (
	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/clustering"
)

// nominalFleetHosts is the fleet size reads over every host's clustering
// assignment are priced at (docs/scaling.md): counting the groups of a filter
// and choosing the points to show each read up to that many rows.
const nominalFleetHosts = 250000

// setIntelligenceComplexity prices the intelligence schema's fields.
func setIntelligenceComplexity(c *generated.ComplexityRoot) {
	scan := int(ceilDiv(nominalFleetHosts, rowsPerUnit))
	points := func(child, n int) int { return 1 + scan + child*min(max(n, 0), clustering.MaxPoints) }
	c.Query.MachineClustering = func(child int, _ *model.MachineClusteringFilter) int { return 1 + scan + child }
	c.MachineClustering.Points = func(child int, limit *int) int { return points(child, orDefault(limit, 2000)) }
	c.MachineClustering.Outliers = func(child int, first *int) int { return points(child, orDefault(first, 50)) }
	// A run keeps at most Options.KMax groups (10 by default; priced at twice
	// that) and as many candidates.
	c.MachineClustering.Groups = func(child int) int { return 1 + child*nominalPerParent }
	c.MachineClustering.Candidates = func(child int) int { return 1 + child*nominalPerParent }
	c.Mutation.RunClusteringAnalysis = func(child int) int { return 1 + scan + child }

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
