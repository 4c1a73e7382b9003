package graph

import (
	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
)

// setAquilaComplexity prices the stacks' and operations' lists at the size
// they can return, and an operation's stages (a count of its tasks by stage
// and state, up to 20,000 tasks) and dependency graphs as a stored
// computation each, so that a selection of them under a list pays for every
// element.
func setAquilaComplexity(c *generated.ComplexityRoot) {
	c.Query.ServicePackages = func(child int, _ *string, first *int, _ *string, last *int, _ *string) int {
		return 1 + child*pageCost(first, last)
	}
	c.Cluster.Operations = func(child int, first *int, _ *string) int { return listCost(child, first, 20) }
	c.Query.ActiveOperations = func(child int, first *int) int { return listCost(child, first, 50) }
	c.Operation.Events = func(child int, first *int) int { return listCost(child, first, 50) }
	c.Operation.Tasks = func(child int, _ *model.OperationTaskState, first *int, _ *string) int {
		return listCost(child, first, 20)
	}
	c.Operation.Stages = func(child int) int { return storedFigures + child*nominalPerParent }
	c.StackVersion.DependencyGraph = func(child int) int { return storedFigures + child*nominalPerParent }
	c.Query.SpareHosts = func(child int, _, _, _ *string, first *int, _ *string) int { return listCost(child, first, 50) }
	c.Query.ScaleOutProposals = func(child int, _ *string, _ *model.ScaleOutProposalState, first *int, _ *string) int {
		return listCost(child, first, 20)
	}
	// A cluster's policy and open proposal are a read each, not batched: a
	// list of clusters pays for every one.
	c.Cluster.Policy = func(child int) int { return storedFigures + child }
	c.Cluster.ScaleOutProposal = func(child int) int { return storedFigures + child }
	// One outcome (and its operation) per cluster given.
	c.Mutation.UpgradeClusters = func(child int, in model.UpgradeClustersInput) int { return 1 + child*max(len(in.Clusters), 1) }
}
