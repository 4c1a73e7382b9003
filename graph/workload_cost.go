package graph

import (
	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/lineage"
)

// lineageCost prices a lineage walk before it runs: each of depth levels reads
// at most lineage.FanoutBound × maxNodes edges (priced per rowsPerUnit rows),
// and up to maxNodes nodes come back at their selection's cost. Out-of-range
// arguments are clamped: the resolver refuses them with BAD_USER_INPUT, the
// clearer answer. The defaults (depth 3, 500 nodes) price a walk returning
// names at about 1,500; the largest (depth 20, 5,000 nodes) about 14,000.
func lineageCost(child, depth, maxNodes int) int {
	depth = min(max(depth, 1), lineage.MaxDepth)
	maxNodes = min(max(maxNodes, 1), lineage.MaxNodes)
	reads := int(ceilDiv(int64(lineage.FanoutBound*maxNodes), rowsPerUnit))
	return 1 + depth*reads + maxNodes*child
}

// setWorkloadComplexity prices the workload schema's fields that read more than
// one object.
func setWorkloadComplexity(c *generated.ComplexityRoot) {
	c.Query.Lineage = func(child int, _ string, _ *model.LineageDirection, depth *int, maxNodes *int) int {
		return lineageCost(child, orDefault(depth, lineage.DefaultDepth), orDefault(maxNodes, lineage.DefaultMaxNodes))
	}
	c.Query.Impact = func(child int, _ string) int {
		return lineageCost(child, lineage.ImpactDepth, lineage.DefaultMaxNodes)
	}
	c.Query.Datasets = func(child int, first *int, _ *string, _ *string) int { return 1 + child*pageCost(first, nil) }
	c.Job.LastRuns = func(child int, first *int) int { return listCost(child, first, 5) }
	// Job analysis: a job has at most one finding per heuristic.
	c.Job.Findings = func(child int) int { return listCost(child, nil, jobHeuristics) }
	c.AnalyzeJobPayload.Findings = func(child int) int { return listCost(child, nil, jobHeuristics) }
	c.Query.WorstJobs = func(child int, _ *model.WorstJobsBy, first *int, _ *string, _ *string, _ *string) int {
		return 1 + child*pageCost(first, nil)
	}
}

// jobHeuristics is how many findings a job can have at most.
const jobHeuristics = 6
