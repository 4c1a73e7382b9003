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
}
